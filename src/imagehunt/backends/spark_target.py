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

from imagehunt.backends.duckdb_target import correlation_parts, sql_comment
from imagehunt.backends.spark import SparkBackend
from imagehunt.engine.compile import compile_rule
from imagehunt.engine.correlate import chain_sql
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


def detection_sql(rule: PackRule) -> str:
    """The rule's Spark SQL boolean expression over the normalized columns."""
    return compile_rule(rule, _backend()).sql


def correlation_sql(rule: PackRule, pack: RulePack) -> str:
    """The correlation as one query: its chains with their evidence lines."""
    parts = correlation_parts(rule, pack, _backend(), EVENTS_TABLE)
    chains = chain_sql(
        parts.steps, parts.span, parts.ordered, parts.groups, table=MATCHES, carry=("host", "ts")
    )
    evidence = ", ".join(
        f"c.k{i}.file AS step{i}_file, c.k{i}.line AS step{i}_line" for i in range(parts.steps)
    )
    return (
        f"WITH {MATCHES} AS (SELECT * FROM (SELECT named_struct('file', _file, 'line', _line) "
        "AS key, ih_step AS step, `@timestamp` AS ts, `process.entity_id` AS entity_id, "
        f"`process.pid` AS pid, `host.name` AS host{parts.group_cols} "
        f"FROM ({parts.union})) WHERE ts IS NOT NULL{parts.not_null})\n"
        f"SELECT c.same_process, c.host AS `host.name`, c.ts AS `@timestamp`, {evidence}\n"
        f"FROM ({chains}) AS c ORDER BY `@timestamp`, step0_file, step0_line"
    )


def convert(rule: PackRule, pack: RulePack, fmt: str) -> str:
    """One query, with a comment naming the rule."""
    if rule.is_correlation:
        return sql_comment(rule) + correlation_sql(rule, pack) + ";"
    return sql_comment(rule) + f"SELECT * FROM {EVENTS_TABLE} WHERE {detection_sql(rule)};"
