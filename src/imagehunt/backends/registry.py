"""The targets `imagehunt convert` knows, by name."""

from __future__ import annotations

import json

from imagehunt.backends import (
    duckdb_target,
    eql,
    esql,
    kql,
    qradar,
    sigma_target,
    spark_target,
    splunk,
)
from imagehunt.backends.targets import Target
from imagehunt.rulepack import PackRule, RulePack


def _eql(rule: PackRule, pack: RulePack, fmt: str) -> str:
    """An EQL query (with a comment naming the rule), or an Elastic detection-rule object."""
    query = eql.convert_rule(rule, pack)
    if fmt == "ndjson":
        return json.dumps(eql.detection_rule_object(rule, query), ensure_ascii=False)
    return f"/* {rule.name} ({rule.ref.level}): {rule.ref.title} */\n{query}"


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            name="duckdb",
            description="SQL of the local engine over a table `events` of normalized rows",
            formats=("sql",),
            convert=duckdb_target.convert,
            header=duckdb_target.header,
        ),
        Target(
            name="spark",
            description="Spark SQL (3.3+) over a view `events` of normalized rows",
            formats=("sql",),
            convert=spark_target.convert,
            header=spark_target.header,
        ),
        Target(
            name="eql",
            description="Elastic EQL queries (Elasticsearch syntax), or detection-rule objects",
            formats=("eql", "ndjson"),
            convert=_eql,
            separators={"ndjson": "\n"},
            context_rules=False,
        ),
        Target(
            name="esql",
            description="Elastic ES|QL queries for the single-event rules",
            formats=esql.FORMATS,
            convert=esql.convert,
            context_rules=False,
            correlations=False,
        ),
        Target(
            name="kql",
            description="Microsoft Sentinel KQL over the ASIM parsers and AWSCloudTrail",
            formats=kql.FORMATS,
            convert=kql.convert,
            context_rules=False,
        ),
        Target(
            name="qradar",
            description="QRadar AQL, one query per rule with its DetectionBranch label",
            formats=qradar.FORMATS,
            convert=qradar.convert,
            context_rules=False,
        ),
        Target(
            name="splunk",
            description="Splunk SPL over CIM data models (aws:cloudtrail raw keys for AWS)",
            formats=splunk.FORMATS,
            convert=splunk.convert,
            context_rules=False,
        ),
        Target(
            name="sigma",
            description="portable Sigma YAML with the indicator lists expanded",
            formats=("yaml",),
            convert=sigma_target.convert,
            separator="---\n",
        ),
    )
}
