"""Indicator lists inside |re values: escaping, wildcards, longest first, unknown names kept."""

from __future__ import annotations

import re

from sigma.collection import SigmaCollection
from sigma.types import SigmaRegularExpression

from imagehunt.pipelines import load_pipeline
from imagehunt.pipelines.regex_placeholders import (
    RegexPlaceholderTransformation,
    alternation,
    value_to_regex,
)


def test_values_are_escaped_and_wildcards_stay_within_one_token() -> None:
    pattern = re.compile("^" + value_to_regex("a.b*c?") + "$")
    assert pattern.match("a.bXYZcQ")
    assert not pattern.match("aXbc1")  # the dot is literal
    assert not pattern.match("a.b X cQ")  # * does not cross whitespace


def test_alternation_puts_longer_values_first() -> None:
    regex = alternation(["xmrig", "xmrig-notls", "minerd"])
    assert regex.index("xmrig\\-notls") < regex.index("|xmrig)")
    assert re.fullmatch(regex, "xmrig-notls")


def test_transformation_expands_known_lists_only() -> None:
    transform = RegexPlaceholderTransformation(lists={"names": ["a+b", "c"]})
    expanded = transform.apply_value("f", SigmaRegularExpression("^(%names%|%other%)$"))
    assert isinstance(expanded, SigmaRegularExpression)
    text = expanded.regexp.to_plain()
    assert "(?:a\\+b|c)" in text
    assert "%other%" in text


def test_pipeline_expands_shipped_lists_into_rule_values() -> None:
    rule = SigmaCollection.from_yaml(
        "title: t\nlogsource: {category: process_creation}\n"
        "detection:\n  sel:\n    process.args|re: '^(%miner_algorithms%)$'\n"
        "  names:\n    process.name|expand: '%miner_names%'\n  condition: sel or names\n"
    ).rules[0]
    load_pipeline("ecs").apply(rule)
    values = {
        str(getattr(v, "regexp", v))
        for det in rule.detection.detections.values()
        for item in det.detection_items
        for v in getattr(item, "value", [])
    }
    assert any("rx\\/0" in v for v in values)
    assert "cgminer" in {v.lower() for v in values}
    assert not any("%" in v for v in values)
