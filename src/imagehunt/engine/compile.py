"""Compile the pack's detection rules to DuckDB SQL, once, and check each compiles."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import duckdb
import pyarrow as pa
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
    """A detection rule and its SQL boolean expression over the normalized columns."""

    rule: PackRule
    sql: str


def rules_to_run(pack: RulePack) -> tuple[list[PackRule], list[PackRule]]:
    """(detection rules, correlation rules) needed for the selected rules' alerts."""
    correlations = [r for r in pack.rules if r.is_correlation and r.id in pack.selected]
    needed = {r.id for r in pack.rules if not r.is_correlation and r.id in pack.selected}
    for corr in correlations:
        needed |= {base.id for base in referenced_rules(corr, pack)}
    detections = [r for r in pack.rules if r.id in needed and not r.is_correlation]
    return detections, correlations


def compile_rule(rule: PackRule, backend: DuckDBBackend) -> str:
    """SQL boolean expression of one rule (its conditions OR-ed)."""
    sigma = copy.deepcopy(rule.sigma)
    if isinstance(sigma, SigmaCorrelationRule) or not isinstance(sigma, SigmaRule):
        raise RuleError("not a detection rule", file=rule.path, line=rule.line)
    queries = backend.convert_rule(sigma)
    if not queries:
        raise RuleError("rule compiled to no query", file=rule.path, line=rule.line)
    return " OR ".join(f"({q})" for q in queries)


def compile_rules(
    rules: list[PackRule], con: duckdb.DuckDBPyConnection
) -> tuple[list[CompiledRule], list[RuleError]]:
    """Compile every rule; a rule that fails is reported with its file and left out."""
    backend = DuckDBBackend(load_pipeline("ecs"))
    con.register(EMPTY_EVENTS, pa.Table.from_batches([], schema=schema.arrow_schema()))
    compiled: list[CompiledRule] = []
    errors: list[RuleError] = []
    for rule in rules:
        try:
            sql = compile_rule(rule, backend)
            con.execute(f"SELECT count(*) FROM {EMPTY_EVENTS} WHERE {sql}").fetchall()
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
        compiled.append(CompiledRule(rule=rule, sql=sql))
    return compiled, errors
