"""Sigma temporal correlations as SQL over the rule matches (never over all events).

``temporal_ordered``: the steps must happen in order, each within ``timespan`` of the first,
all with equal group-by values. Steps are the rules listed (each its own step), or, with an
extended condition written as an AND of ORs, ``(a or b) and (c or d)``, one step per AND
operand in the order written. ``temporal``: the same without order. One alert per first-step
event: the earliest complete chain after it, preferring a chain whose events share a process
(same entity id, or the same pid) when the rule asks to escalate on that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionOR,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)

from imagehunt.errors import RuleError
from imagehunt.rulepack import PackRule, RulePack

MATCHES_TABLE = "ih_matches"
SUPPORTED = (SigmaCorrelationType.TEMPORAL_ORDERED, SigmaCorrelationType.TEMPORAL)


@dataclass(frozen=True)
class MatchRow:
    """One (event, rule) match, as the correlation SQL sees it."""

    key: int  # index of the matched event in the scan's match list
    rule_id: str
    timestamp: object
    group: tuple[object, ...]
    entity_id: str | None
    pid: int | None


@dataclass(frozen=True)
class Chain:
    """A correlation hit: the event keys of each step, and whether one process did all."""

    rule: PackRule
    keys: tuple[int, ...]
    same_process: bool


def _refs(node: object) -> list[str]:
    if isinstance(node, SigmaRuleReference):
        return [node.reference]
    if isinstance(node, CorrelationConditionOR):
        return [ref for arg in node.args for ref in _refs(arg)]
    raise ValueError("only rule names joined by 'or' may form one step")


def correlation_steps(rule: PackRule, pack: RulePack) -> list[list[str]]:
    """Rule ids per step, in order."""
    sigma = rule.sigma
    assert isinstance(sigma, SigmaCorrelationRule)
    if sigma.type not in SUPPORTED:
        raise RuleError(
            f"correlation type '{sigma.type.name.lower()}' is not supported by the local engine",
            file=rule.path,
            line=rule.line,
            hint="use temporal or temporal_ordered",
        )
    condition = sigma.condition
    if isinstance(condition, SigmaExtendedCorrelationCondition):
        tree = condition.parsed
        operands = tree.args if isinstance(tree, CorrelationConditionAND) else [tree]
        try:
            names = [_refs(op) for op in operands]
        except ValueError as exc:
            raise RuleError(
                f"unsupported extended condition: {exc}", file=rule.path, line=rule.line
            ) from exc
    else:
        names = [[r.reference] for r in (sigma.rules or [])]
    if len(names) < 2:
        raise RuleError(
            "a temporal correlation needs two or more steps", file=rule.path, line=rule.line
        )
    return [[pack.by_ref(n).id for n in step] for step in names]


def chain_sql(
    steps: int,
    span_seconds: int,
    ordered: bool,
    groups: int,
    *,
    table: str = MATCHES_TABLE,
    carry: Sequence[str] = (),
) -> str:
    """Per first-step match, its best chain: columns ``k0``..``kN``, ``carry``, same_process.

    ``table`` holds the matches (key, step, ts, entity_id, pid, g0..); ``carry`` names more of
    its columns to return from the first step. Best: one process did every step, then the
    earliest last step, then the lowest keys. The ranking is a subquery, not QUALIFY, so the
    same text runs on DuckDB and Spark SQL.
    """
    joins = [f"{table} AS s0"]
    for i in range(1, steps):
        cond = [f"s{i}.step = {i}"]
        cond += [f"s{i}.g{g} = s0.g{g}" for g in range(groups)]
        if ordered:
            cond.append(f"s{i}.ts >= s{i - 1}.ts")
        else:
            cond.append(f"s{i}.ts >= s0.ts - INTERVAL {span_seconds} SECOND")
        cond.append(f"s{i}.ts <= s0.ts + INTERVAL {span_seconds} SECOND")
        cond.append(f"s{i}.key <> s0.key")
        joins.append(f"JOIN {table} AS s{i} ON " + " AND ".join(cond))
    same = " AND ".join(
        f"((s{i}.entity_id IS NOT NULL AND s{i}.entity_id = s0.entity_id) OR "
        f"(s{i}.pid IS NOT NULL AND s{i}.pid = s0.pid))"
        for i in range(1, steps)
    )
    keys = [f"k{i}" for i in range(steps)]
    inner = ", ".join(f"s{i}.key AS k{i}" for i in range(steps))
    inner += "".join(f", s0.{column} AS {column}" for column in carry)
    order = ", ".join(f"s{i}.key" for i in range(steps))
    outer = ", ".join([*keys, *carry, "same_process"])
    return (
        f"SELECT {outer} FROM (SELECT {inner}, coalesce({same}, false) AS same_process, "
        f"row_number() OVER (PARTITION BY s0.key ORDER BY coalesce({same}, false) DESC, "
        f"s{steps - 1}.ts, {order}) AS ih_rank FROM {' '.join(joins)} WHERE s0.step = 0) "
        "WHERE ih_rank = 1"
    )


def correlate(
    con: duckdb.DuckDBPyConnection,
    rule: PackRule,
    pack: RulePack,
    matches: Sequence[MatchRow],
) -> list[Chain]:
    """Chains of ``rule`` among the matches."""
    sigma = rule.sigma
    assert isinstance(sigma, SigmaCorrelationRule)
    steps = correlation_steps(rule, pack)
    span = int(sigma.timespan.seconds)
    groups = len(sigma.group_by or [])
    rows: dict[str, list[object]] = {"key": [], "step": [], "ts": [], "entity_id": [], "pid": []}
    for g in range(groups):
        rows[f"g{g}"] = []
    for m in matches:
        if m.timestamp is None or any(v is None for v in m.group[:groups]):
            continue
        for index, step in enumerate(steps):
            if m.rule_id in step:
                rows["key"].append(m.key)
                rows["step"].append(index)
                rows["ts"].append(m.timestamp)
                rows["entity_id"].append(m.entity_id)
                rows["pid"].append(m.pid)
                for g in range(groups):
                    rows[f"g{g}"].append(str(m.group[g]))
    if not rows["key"]:
        return []
    table = pa.table(
        {
            "key": pa.array(rows["key"], pa.int64()),
            "step": pa.array(rows["step"], pa.int32()),
            "ts": pa.array(rows["ts"], pa.timestamp("us", tz="UTC")),
            "entity_id": pa.array(rows["entity_id"], pa.string()),
            "pid": pa.array(rows["pid"], pa.int64()),
            **{f"g{g}": pa.array(rows[f"g{g}"], pa.string()) for g in range(groups)},
        }
    )
    con.register(MATCHES_TABLE, table)
    try:
        ordered = sigma.type is SigmaCorrelationType.TEMPORAL_ORDERED
        sql = chain_sql(len(steps), span, ordered, groups) + " ORDER BY k0"
        result = con.execute(sql).fetchall()
    finally:
        con.unregister(MATCHES_TABLE)
    return [
        Chain(rule=rule, keys=tuple(int(k) for k in row[:-1]), same_process=bool(row[-1]))
        for row in result
    ]
