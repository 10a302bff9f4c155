"""The `spark` target: the local engine's queries in Spark SQL, over a temp view `events`.

`events` has the columns of the normalized schema (ECS names, written in backticks, plus
`_file`, `_line`, `_format`), e.g. normalized rows loaded with ``engine.spark.events_view``.
Every query is self-contained (Spark has no macros: CIDR tests are inline):

* a detection rule: ``SELECT * FROM events WHERE <the rule's expression>``;
* a temporal correlation: the engine's ordered, windowed, grouped self-join over the rows its
  step rules select, returning each chain's evidence and whether one process did every step
  (the rule's escalated level). An event is identified by its file and line.

String literals use backslash escapes, Spark's default reading
(``spark.sql.parser.escapedStringLiterals=false``).
"""

from __future__ import annotations

import functools

from sigma.correlations import SigmaCorrelationType

from imagehunt.backends.spark import SparkBackend, spark_identifier, spark_string
from imagehunt.engine.compile import compile_rule
from imagehunt.engine.correlate import correlation_steps
from imagehunt.engine.detect import PER_HOST_FORMATS
from imagehunt.pipelines import load_pipeline
from imagehunt.rulepack import PackRule, RulePack

EVENTS_TABLE = "events"
MATCHES = "ih_matches"


@functools.lru_cache(maxsize=1)
def _backend() -> SparkBackend:
    return SparkBackend(load_pipeline("ecs"))


def header(fmt: str) -> str:
    """What the queries assume of the Spark session, once at the top."""
    return (
        "-- Spark SQL (3.3 or later) over a view `events` of normalized rows; string literals "
        "use backslash escapes\n-- (spark.sql.parser.escapedStringLiterals=false, the default)"
        "\n\n"
    )


def _one_line(text: str) -> str:
    """Comment-safe text: no line breaks, no ``${`` for Spark's variable substitution."""
    return " ".join(text.split()).replace("${", "$ {")


def _comment(rule: PackRule) -> str:
    note = f"-- {_one_line(f'{rule.name} ({rule.ref.level}): {rule.ref.title}')}\n"
    if rule.assessment:
        note += f"-- level decided per event by imagehunt ({rule.assessment}); not in SQL\n"
    if rule.context_only:
        note += "-- context rule: its rows feed an assessment, it never alerts\n"
    return note


def detection_sql(rule: PackRule) -> str:
    """The rule's Spark SQL boolean expression over the normalized columns."""
    return compile_rule(rule, _backend()).sql


def _group(name: str) -> str:
    column = f"CAST({spark_identifier(name)} AS STRING)"
    if name != "host.name":
        return column
    formats = ", ".join(spark_string(f) for f in sorted(PER_HOST_FORMATS))
    return f"coalesce({column}, CASE WHEN _format IN ({formats}) THEN concat('file:', _file) END)"


def chain_sql(steps: int, span_seconds: int, ordered: bool, groups: int) -> str:
    """Spark form of ``engine.correlate.chain_sql``: per first-step event, its best chain.

    Best: one process did every step, then the earliest last step, then the earliest events
    (by file and line). Spark has no QUALIFY, so the ranking is a subquery.
    """
    joins = [f"{MATCHES} AS s0"]
    for i in range(1, steps):
        cond = [f"s{i}.step = {i}"]
        cond += [f"s{i}.g{g} = s0.g{g}" for g in range(groups)]
        if ordered:
            cond.append(f"s{i}.ts >= s{i - 1}.ts")
        else:
            cond.append(f"s{i}.ts >= s0.ts - INTERVAL {span_seconds} SECOND")
        cond.append(f"s{i}.ts <= s0.ts + INTERVAL {span_seconds} SECOND")
        cond.append(f"s{i}.key <> s0.key")
        joins.append(f"JOIN {MATCHES} AS s{i} ON " + " AND ".join(cond))
    same = " AND ".join(
        f"((s{i}.entity_id IS NOT NULL AND s{i}.entity_id = s0.entity_id) OR "
        f"(s{i}.pid IS NOT NULL AND s{i}.pid = s0.pid))"
        for i in range(1, steps)
    )
    keys = ", ".join(f"s{i}.key AS k{i}" for i in range(steps))
    order = ", ".join(f"s{i}.key" for i in range(steps))
    return (
        f"SELECT * FROM (SELECT {keys}, s0.host, s0.ts, coalesce({same}, false) AS same_process, "
        f"row_number() OVER (PARTITION BY s0.key ORDER BY coalesce({same}, false) DESC, "
        f"s{steps - 1}.ts, {order}) AS ih_rank FROM {' '.join(joins)} WHERE s0.step = 0) "
        "WHERE ih_rank = 1"
    )


def correlation_sql(rule: PackRule, pack: RulePack) -> str:
    """The correlation as one query: its chains with their evidence lines."""
    sigma = rule.sigma
    steps = correlation_steps(rule, pack)
    groups = list(getattr(sigma, "group_by", None) or [])
    by_id = {r.id: r for r in pack.rules}
    selects = []
    for index, step in enumerate(steps):
        condition = " OR ".join(f"({detection_sql(by_id[i])})" for i in step)
        selects.append(f"SELECT *, {index} AS ih_step FROM {EVENTS_TABLE} WHERE {condition}")
    group_cols = "".join(f", {_group(g)} AS g{n}" for n, g in enumerate(groups))
    not_null = "".join(f" AND g{n} IS NOT NULL" for n in range(len(groups)))
    ordered = getattr(sigma, "type", None) is SigmaCorrelationType.TEMPORAL_ORDERED
    span = int(sigma.timespan.seconds)  # type: ignore[union-attr]
    chains = chain_sql(len(steps), span, ordered, len(groups))
    evidence = ", ".join(
        f"c.k{i}.file AS step{i}_file, c.k{i}.line AS step{i}_line" for i in range(len(steps))
    )
    return (
        f"WITH {MATCHES} AS (SELECT * FROM (SELECT named_struct('file', _file, 'line', _line) "
        "AS key, ih_step AS step, `@timestamp` AS ts, `process.entity_id` AS entity_id, "
        f"`process.pid` AS pid, `host.name` AS host{group_cols} "
        f"FROM ({' UNION ALL '.join(selects)})) WHERE ts IS NOT NULL{not_null})\n"
        f"SELECT c.same_process, c.host AS `host.name`, c.ts AS `@timestamp`, {evidence}\n"
        f"FROM ({chains}) AS c ORDER BY `@timestamp`, step0_file, step0_line"
    )


def convert(rule: PackRule, pack: RulePack, fmt: str) -> str:
    """One query, with a comment naming the rule."""
    if rule.is_correlation:
        return _comment(rule) + correlation_sql(rule, pack) + ";"
    return _comment(rule) + f"SELECT * FROM {EVENTS_TABLE} WHERE {detection_sql(rule)};"
