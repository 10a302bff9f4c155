"""The `duckdb` target: the local engine's SQL as standalone queries over a table `events`.

`events` has the columns of the normalized schema (quoted ECS names, plus `_file`, `_line`,
`_format`), as `imagehunt scan` builds it. The output starts with the two macros the CIDR
tests call, then one query per rule:

* a detection rule: ``SELECT * FROM events WHERE <the rule's expression>``;
* a temporal correlation: the same ordered, windowed, grouped join the engine runs, over the
  rows its step rules select, returning each chain's evidence and whether one process did
  every step (the rule's escalated level).

Context rules and assessment rules convert like any detection rule; the assessment (the
per-event level of cloud_image_launch) is imagehunt's and is named in the query's comment.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sigma.correlations import SigmaCorrelationType

from imagehunt.backends.duckdb import DuckDBBackend
from imagehunt.engine.compile import compile_rule
from imagehunt.engine.correlate import MATCHES_TABLE, chain_sql, correlation_steps
from imagehunt.engine.detect import PER_HOST_FORMATS
from imagehunt.engine.session import MACROS
from imagehunt.pipelines import load_pipeline
from imagehunt.rulepack import PackRule, RulePack

EVENTS_TABLE = "events"


@functools.lru_cache(maxsize=1)
def _backend() -> DuckDBBackend:
    return DuckDBBackend(load_pipeline("ecs"))


def header(fmt: str) -> str:
    """The macros every CIDR test calls, once at the top."""
    return "".join(f"{macro};\n" for macro in MACROS) + "\n"


def sql_comment(rule: PackRule) -> str:
    """``--`` comment lines naming the rule; no line break or ``${`` gets through.

    A line break would end the comment; ``${`` is broken up for Spark, which substitutes
    variables anywhere in a query's text.
    """
    title = " ".join(f"{rule.name} ({rule.ref.level}): {rule.ref.title}".split())
    note = f"-- {title.replace('${', '$ {')}\n"
    if rule.assessment:
        note += f"-- level decided per event by imagehunt ({rule.assessment}); not in SQL\n"
    if rule.context_only:
        note += "-- context rule: its rows feed an assessment, it never alerts\n"
    return note


def detection_sql(rule: PackRule) -> str:
    """The rule's boolean expression over the normalized columns."""
    return compile_rule(rule, _backend()).sql


def group_sql(name: str, backend: DuckDBBackend) -> str:
    """A correlation group-by field as text; a per-host log without a host name is its file."""
    column = f"CAST({backend.identifier(name)} AS {backend.text_type})"
    if name != "host.name":
        return column
    formats = ", ".join(backend.quote(f) for f in sorted(PER_HOST_FORMATS))
    file_key = backend.quote("file:") + " || _file"
    return f"coalesce({column}, CASE WHEN _format IN ({formats}) THEN {file_key} END)"


@dataclass(frozen=True)
class CorrelationParts:
    """What the DuckDB and Spark correlation queries build alike (:func:`correlation_parts`)."""

    steps: int  # number of steps
    groups: int  # number of group-by fields
    union: str  # every step's rows, tagged ``ih_step``: SELECTs joined by UNION ALL
    group_cols: str  # ``, <group-by text> AS g<n>`` per group-by field
    not_null: str  # `` AND g<n> IS NOT NULL`` per group-by field
    ordered: bool  # temporal_ordered
    span: int  # the window in seconds


def correlation_parts(
    rule: PackRule, pack: RulePack, backend: DuckDBBackend, source: str
) -> CorrelationParts:
    """The step selections over the table ``source`` and the group-by columns, in the
    dialect of ``backend``."""
    sigma = rule.sigma
    steps = correlation_steps(rule, pack)
    groups = list(getattr(sigma, "group_by", None) or [])
    by_id = {r.id: r for r in pack.rules}
    selects = []
    for index, step in enumerate(steps):
        condition = " OR ".join(f"({compile_rule(by_id[i], backend).sql})" for i in step)
        selects.append(f"SELECT *, {index} AS ih_step FROM {source} WHERE {condition}")
    return CorrelationParts(
        steps=len(steps),
        groups=len(groups),
        union=" UNION ALL ".join(selects),
        group_cols="".join(f", {group_sql(g, backend)} AS g{n}" for n, g in enumerate(groups)),
        not_null="".join(f" AND g{n} IS NOT NULL" for n in range(len(groups))),
        ordered=getattr(sigma, "type", None) is SigmaCorrelationType.TEMPORAL_ORDERED,
        span=int(sigma.timespan.seconds),  # type: ignore[union-attr]
    )


def correlation_sql(rule: PackRule, pack: RulePack) -> str:
    """The correlation as one query: its chains with their evidence lines."""
    parts = correlation_parts(rule, pack, _backend(), "ih_events")
    chains = chain_sql(parts.steps, parts.span, parts.ordered, parts.groups)
    evidence = ", ".join(
        f"e{i}._file AS step{i}_file, e{i}._line AS step{i}_line" for i in range(parts.steps)
    )
    joins = " ".join(f"JOIN ih_events AS e{i} ON e{i}.ih_key = c.k{i}" for i in range(parts.steps))
    return (
        f"WITH ih_events AS (SELECT row_number() OVER () AS ih_key, * FROM {EVENTS_TABLE}),\n"
        f"{MATCHES_TABLE} AS (SELECT * FROM (SELECT ih_key AS key, ih_step AS step, "
        '"@timestamp" AS ts, "process.entity_id" AS entity_id, "process.pid" AS pid'
        f"{parts.group_cols} FROM ({parts.union})) WHERE ts IS NOT NULL{parts.not_null})\n"
        f'SELECT c.same_process, e0."host.name", e0."@timestamp", {evidence}\n'
        f'FROM ({chains}) AS c {joins} ORDER BY e0."@timestamp", step0_line'
    )


def convert(rule: PackRule, pack: RulePack, fmt: str) -> str:
    """One query, with a comment naming the rule."""
    if rule.is_correlation:
        return sql_comment(rule) + correlation_sql(rule, pack) + ";"
    return sql_comment(rule) + f"SELECT * FROM {EVENTS_TABLE} WHERE {detection_sql(rule)};"
