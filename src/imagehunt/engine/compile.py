"""Compile the pack's detection rules to DuckDB SQL, once, and check each compiles."""

from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from sigma.conditions import ConditionAND
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from imagehunt import schema
from imagehunt.backends.duckdb import DuckDBBackend
from imagehunt.errors import RuleError
from imagehunt.pipelines import load_pipeline
from imagehunt.rulepack import PackRule, RulePack, referenced_rules

EMPTY_EVENTS = "ih_empty_events"


@dataclass(frozen=True)
class CompiledRule:
    """A detection rule, its SQL boolean expression, and the same split into AND-ed parts.

    ``conjuncts`` holds one tuple per Sigma condition of the rule (usually one): its top-level
    AND operands in order, log-source guards first. The engine factors guards shared by
    several rules so that each is evaluated once per row.
    """

    rule: PackRule
    sql: str
    conjuncts: tuple[tuple[str, ...], ...] = ()


def rules_to_run(pack: RulePack) -> tuple[list[PackRule], list[PackRule]]:
    """(detection rules, correlation rules) needed for the selected rules' alerts."""
    correlations = [r for r in pack.rules if r.is_correlation and r.id in pack.selected]
    needed = {r.id for r in pack.rules if not r.is_correlation and r.id in pack.selected}
    for corr in correlations:
        needed |= {base.id for base in referenced_rules(corr, pack)}
    if any(r.assessment for r in pack.rules if r.id in needed):
        needed |= {r.id for r in pack.rules if r.context_only}  # what assessments learn from
    detections = [r for r in pack.rules if r.id in needed and not r.is_correlation]
    return detections, correlations


def _and_operands(cond: Any) -> list[Any]:
    if isinstance(cond, ConditionAND):
        return [part for arg in cond.args for part in _and_operands(arg)]
    return [cond]


def compile_rule(rule: PackRule, backend: DuckDBBackend) -> CompiledRule:
    """SQL of one rule (its conditions OR-ed) and its AND-ed parts."""
    sigma = copy.deepcopy(rule.sigma)
    if isinstance(sigma, SigmaCorrelationRule) or not isinstance(sigma, SigmaRule):
        raise RuleError("not a detection rule", file=rule.path, line=rule.line)
    parts: list[tuple[str, ...]] = []

    def split(_rule: Any, _fmt: Any, _index: int, cond: Any, result: Any) -> Any:
        state = ConversionState(processing_state=dict(backend.last_processing_pipeline.state))
        converted = [backend.convert_condition(op, state) for op in _and_operands(cond.parsed)]
        parts.append(tuple(f"({c})" for c in converted))
        return result

    queries = backend.convert_rule(sigma, callback=split)
    if not queries:
        raise RuleError("rule compiled to no query", file=rule.path, line=rule.line)
    sql = " OR ".join(f"({q})" for q in queries)
    return CompiledRule(rule=rule, sql=sql, conjuncts=tuple(parts))


# Rules already compiled and checked, by the identity of their (immutable) PackRule: one
# process scanning many inputs with one pack (validate, watch) compiles each rule once.
_COMPILED: dict[int, tuple[weakref.ref[PackRule], CompiledRule]] = {}


def _cached(rule: PackRule) -> CompiledRule | None:
    entry = _COMPILED.get(id(rule))
    if entry is not None and entry[0]() is rule:
        return entry[1]
    return None


def _remember(rule: PackRule, compiled: CompiledRule) -> None:
    # A dead entry whose id is reused fails the identity check in _cached and is replaced.
    _COMPILED[id(rule)] = (weakref.ref(rule), compiled)


def compile_rules(
    rules: list[PackRule], con: duckdb.DuckDBPyConnection
) -> tuple[list[CompiledRule], list[RuleError]]:
    """Compile every rule; a rule that fails is reported with its file and left out."""
    backend = DuckDBBackend(load_pipeline("ecs"))
    con.register(EMPTY_EVENTS, pa.Table.from_batches([], schema=schema.arrow_schema()))
    compiled: list[CompiledRule] = []
    errors: list[RuleError] = []
    for rule in rules:
        known = _cached(rule)
        if known is not None:
            compiled.append(known)
            continue
        try:
            compiled_rule = compile_rule(rule, backend)
            con.execute(f"SELECT count(*) FROM {EMPTY_EVENTS} WHERE {compiled_rule.sql}").fetchall()
        except (SigmaError, NotImplementedError) as exc:
            errors.append(
                RuleError(
                    f"rule '{rule.name}' cannot be compiled: {exc}", file=rule.path, line=rule.line
                )
            )
            continue
        except duckdb.Error as exc:
            errors.append(
                RuleError(
                    f"rule '{rule.name}' gives invalid SQL: {exc}", file=rule.path, line=rule.line
                )
            )
            continue
        except RuleError as exc:
            errors.append(exc)
            continue
        _remember(rule, compiled_rule)
        compiled.append(compiled_rule)
    return compiled, errors
