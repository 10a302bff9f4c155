"""The Elastic EQL target: every shipped rule's query parses and means what ``imagehunt scan``
means on the rules' true-positive and true-negative samples.

Queries are parsed by the ``eql`` package in Elasticsearch mode and run on its Python engine.
That engine is not Elasticsearch; the harness bridges the one data-model gap that can be
bridged exactly and lists every remaining difference:

* Elasticsearch has no single-element arrays (``["start"]`` is ``"start"``) and no empty
  ones (``[]`` is a missing field); events are normalized that way for non-array fields.
* Elasticsearch matches a test on a multi-valued field when any value matches; the Python
  engine compares the whole list. Tests on the schema's array fields are rewritten to the
  engine's ``arraySearch(field, v, <test on v>)``, which is that "any value" rule.
* Lucene regexes match the whole value; the engine's ``match`` uses ``re.match`` (anchored at
  the start only), so each pattern gets a ``\\Z``. The generated patterns escape only ASCII
  punctuation, which Python's ``re`` reads as Lucene does.
* The index mapping makes integer fields (``destination.port``) numbers: a sample's "3333"
  is indexed as 3333, so the harness converts numeric strings of integer fields.

What stays different is listed in ``ENGINE_DIFFERENCES`` with its reason, and checked: a
listed case that no longer differs fails, so the list cannot rot.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import eql
import pytest
from eql import ast

from imagehunt import schema
from imagehunt.backends.eql import (
    EqlBackend,
    condition_of,
    convert_rule,
    detection_rule_object,
    eql_pipeline,
    eql_string,
)
from imagehunt.backends.eql_regex import LuceneRegexError, sigma_regex_to_lucene
from imagehunt.engine.detect import run_scan
from imagehunt.errors import RuleError
from imagehunt.rulepack import PackRule, RulePack, load_pack
from imagehunt.sources.inputs import Input
from support.pack_rules import pack_rule as _rule

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
ARRAY_FIELDS = frozenset(f.name for f in schema.FIELDS if f.is_array)
INTEGER_FIELDS = frozenset(f.name for f in schema.FIELDS if f.kind is schema.Kind.INTEGER)
ELEMENT = "element"

# Rules that cannot be converted, and the words their error must contain.
NOT_CONVERTED = {
    "cloud_image_inventory": "context rule: not a detection",
}

# (rule, sample file, line) -> why the eql Python engine differs from Elasticsearch there.
_MAPPED_IPV4 = (
    "Elasticsearch stores an IPv4-mapped IPv6 address as IPv4, so cidrMatch with an IPv4 "
    "range excludes it; the Python engine's cidrMatch knows IPv4 text only"
)
ENGINE_DIFFERENCES: dict[tuple[str, str, int], str] = {
    ("pool_connection", "tn", 11): _MAPPED_IPV4,  # ::ffff:10.0.0.1
    ("pool_connection", "tn", 26): _MAPPED_IPV4,  # ::ffff:a00:1
}


# ---- harness -------------------------------------------------------------------------------
@cache
def pack() -> RulePack:
    return load_pack()


def parse(text: str) -> Any:
    """Parse as Elasticsearch EQL (the check every produced query must pass)."""
    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
        return eql.parse_query(text)


def _set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = doc
    for key in parents:
        node = node.setdefault(key, {})
    if isinstance(value, dict) and isinstance(node.get(last), dict):
        _merge(node[last], value)
    else:
        node[last] = value


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        _set_path(target, key, value)


def nested_event(line: str) -> dict[str, Any]:
    """A sample line as a nested document, ``_`` keys dropped, in Elasticsearch's value model."""
    doc: dict[str, Any] = {}
    for key, value in json.loads(line).items():
        if not key.startswith("_"):
            _set_path(doc, key, _nested_value(value))
    return _es_values(doc, "")


def _nested_value(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        _merge(out, {k: _nested_value(v) for k, v in value.items()})
        return out
    return value


def _es_values(doc: dict[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = prefix + key
        if isinstance(value, dict):
            value = _es_values(value, name + ".")
        elif isinstance(value, list):
            if not value:
                continue
            if name in ARRAY_FIELDS:
                value = [v for v in value if v is not None]
            elif len(value) == 1:
                value = value[0]
        elif name in ARRAY_FIELDS and value is not None:
            value = [value]
        elif name in INTEGER_FIELDS and isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # the index mapping (long) coerces numeric strings
        out[key] = value
    return out


def _field_name(node: Any) -> str | None:
    if isinstance(node, ast.Field):
        return ".".join([node.base, *map(str, node.path)])
    return None


def _tested_field(node: Any) -> Any:
    if isinstance(node, ast.Comparison):
        return node.left
    if isinstance(node, ast.InSet):
        return node.expression
    if isinstance(node, ast.FunctionCall) and node.arguments:
        return node.arguments[0]
    return None


def _with_field(node: Any, field: Any) -> Any:
    node = copy.copy(node)
    if isinstance(node, ast.Comparison):
        node.left = field
    elif isinstance(node, ast.InSet):
        node.expression = field
    else:
        node.arguments = [field, *node.arguments[1:]]
    return node


def _whole_string(node: Any) -> Any:
    """A regex test as Lucene means it: the whole value (the engine's ``re.match`` anchors
    only the start)."""
    if isinstance(node, ast.FunctionCall) and node.name == "match":
        patterns = [ast.String(f"(?:{p.value})\\Z") for p in node.arguments[1:]]
        return ast.FunctionCall("match", [node.arguments[0], *patterns])
    return node


def as_elasticsearch(node: Any) -> Any:
    """Rewrite a condition so the Python engine evaluates it as Elasticsearch does."""
    if isinstance(node, ast.And | ast.Or):
        return type(node)([as_elasticsearch(t) for t in node.terms])
    if isinstance(node, ast.Not):
        return ast.Not(as_elasticsearch(node.term))
    node = _whole_string(node)
    field = _tested_field(node)
    if _field_name(field) in ARRAY_FIELDS:
        element = ast.Field(ELEMENT)
        return ast.FunctionCall("arraySearch", [field, element, _with_field(node, element)])
    return node


def engine_query(text: str) -> Any:
    """The query as the Python engine runs it (rewritten, then parsed again)."""
    parsed = parse(text).first
    if isinstance(parsed, ast.Sequence):
        for sub in parsed.queries:
            sub.query.query = as_elasticsearch(sub.query.query)
    else:
        parsed.query = as_elasticsearch(parsed.query)
    with eql.parser.ignore_missing_functions:
        return eql.parse_query(str(parsed))


def _millis(doc: dict[str, Any]) -> int:
    stamp = doc.get("@timestamp")
    if not stamp:
        return 0
    return int(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() * 1000)


def _event_type(doc: dict[str, Any]) -> str:
    categories = doc.get("event", {}).get("category") or []
    for wanted in ("process", "network"):
        if wanted in categories:
            return wanted
    return categories[0] if categories else "unknown"


def run_engine(text: str, lines: list[str]) -> list[tuple[int, ...]]:
    """Sample line numbers of every match (one tuple per match, the chain for sequences)."""
    query = engine_query(text)
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        doc = nested_event(line)
        events.append(eql.Event(_event_type(doc), _millis(doc), {**doc, "_line": number}))
    results: list[tuple[int, ...]] = []
    engine = eql.PythonEngine({"time_unit": 1000})  # event times in milliseconds
    engine.add_query(query)
    engine.add_output_hook(lambda out: results.append(tuple(e.data["_line"] for e in out.events)))
    engine.stream_events(sorted(events, key=lambda e: e.time))
    return sorted(set(results))


def scan_matches(rule: PackRule, path: Path) -> list[tuple[int, ...]]:
    """Evidence lines of the scan's alerts of ``rule`` on one sample file."""
    outcome = run_scan(load_pack(select=[rule.name]), [Input(path, str(path), "ecs")])
    return sorted(
        {tuple(e.line for e in a.evidence) for a in outcome.alerts if a.rule.name == rule.name}
    )


def sample_lines(rule: PackRule, kind: str) -> list[str]:
    """Every line of a sample file (blank ones too, so numbers match the scan's)."""
    return (RULES_DIR / rule.name / f"{kind}.ndjson").read_text().splitlines()


def _converted_rules() -> Iterator[PackRule]:
    for rule in pack().rules:
        if rule.builtin and rule.name not in NOT_CONVERTED:
            yield rule


# ---- every shipped rule --------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(NOT_CONVERTED))
def test_rules_that_cannot_be_converted_say_why(name: str) -> None:
    rule = pack().by_ref(name)
    with pytest.raises(RuleError, match=NOT_CONVERTED[name]) as caught:
        convert_rule(rule, pack())
    assert caught.value.file == rule.path and caught.value.line == rule.line


@pytest.mark.parametrize("name", sorted(r.name for r in _converted_rules()))
def test_query_parses_as_elasticsearch_eql(name: str) -> None:
    rule = pack().by_ref(name)
    text = convert_rule(rule, pack())
    parse(text)
    category = text.split("\n")[-1].split(" where ")[0] if not rule.is_correlation else None
    if category is not None:
        logsource = rule.sigma.logsource.category  # type: ignore[union-attr]
        expected = {
            "process_creation": "process",
            "network_connection": "network",
            "dns": "network",
        }
        assert category == expected.get(logsource or "", "any")


@pytest.mark.parametrize(
    ("name", "kind"), [(r.name, k) for r in _converted_rules() for k in ("tp", "tn")]
)
def test_engine_matches_scan_on_samples(name: str, kind: str) -> None:
    rule = pack().by_ref(name)
    path = RULES_DIR / name / f"{kind}.ndjson"
    eql_hits = run_engine(convert_rule(rule, pack()), sample_lines(rule, kind))
    scan_hits = scan_matches(rule, path)
    assert scan_hits or kind == "tn", "true positives must exercise the rule"
    if rule.is_correlation:
        assert eql_hits == scan_hits
        return
    eql_lines = {h[0] for h in eql_hits}
    scan_lines = {h[0] for h in scan_hits}
    differing = eql_lines ^ scan_lines
    listed = {line for (r, k, line) in ENGINE_DIFFERENCES if (r, k) == (name, kind)}
    assert differing == listed, (
        f"EQL {sorted(eql_lines)} vs scan {sorted(scan_lines)}; unlisted differences: "
        f"{sorted(differing - listed)}; listed but equal: {sorted(listed - differing)}"
    )


# ---- escaping and values -------------------------------------------------------------------
HOSTILE = 'x" or true or "\\'


def _matches(detection: dict[str, Any], events: list[dict[str, Any]]) -> list[int]:
    category, condition = condition_of(_rule(detection), EqlBackend(eql_pipeline()))
    lines = [json.dumps({"event": {"category": ["process"]}, **e}) for e in events]
    return [h[0] for h in run_engine(f"{category} where {condition}", lines)]


def test_hostile_value_matches_only_itself() -> None:
    detection = {"sel": {"process.name": HOSTILE}, "condition": "sel"}
    _, condition = condition_of(_rule(detection))
    assert eql_string(HOSTILE) in condition
    parse(f"process where {condition}")
    events = [{"process": {"name": HOSTILE}}, {"process": {"name": "x"}}, {"process": {}}]
    assert _matches(detection, events) == [1]


def test_regex_and_wildcard_values_are_escaped() -> None:
    detection = {
        "a": {"process.command_line|re": 'a"b\\\\c'},
        "b": {"process.name|contains": 'q"\\'},
        "condition": "a or b",
    }
    events = [
        {"process": {"command_line": 'xa"b\\cx'}},
        {"process": {"name": 'Zq"\\Z'}},
        {"process": {"command_line": "ab", "name": "q"}},
    ]
    assert _matches(detection, events) == [1, 2]


def test_changing_an_indicator_value_changes_the_query() -> None:
    detection = {"sel": {"process.name|expand": "%miner_names%"}, "condition": "sel"}
    pipeline = eql_pipeline()
    before = condition_of(_rule(detection), EqlBackend(pipeline))[1]
    pipeline.vars = {**pipeline.vars, "miner_names": ["only-this-miner"]}
    after = condition_of(_rule(detection), EqlBackend(pipeline))[1]
    assert before != after
    assert '"only-this-miner"' in after and "xmrig" not in after


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ({"process.name": "XMRig"}, 'process.name : "XMRig"'),
        ({"process.name|cased": "XMRig"}, 'process.name == "XMRig"'),
        ({"process.name|startswith": "xm"}, 'process.name like~ "xm*"'),
        ({"process.name|cased|endswith": "Rig"}, 'process.name like "*Rig"'),
        (
            {"process.name": ["a", "b*", "c?"]},
            '(process.name in~ ("a") or process.name like~ ("b*", "c?"))',
        ),
        ({"destination.port": ["80", "x"]}, None),
        ({"destination.port": ["80", 443]}, "destination.port in (80, 443)"),
        ({"destination.ip|cidr": "10.0.0.0/8"}, 'cidrMatch(destination.ip, "10.0.0.0/8")'),
        ({"process.name|exists": True}, "process.name != null"),
        ({"process.name|re|i": "^x"}, 'process.name regex~ "x.*"'),
    ],
)
def test_leaf_forms(detection: dict[str, Any], expected: str | None) -> None:
    rule = _rule({"sel": detection, "condition": "sel"}, category="unguarded")
    if expected is None:
        with pytest.raises(RuleError, match="integer field"):
            condition_of(rule)
        return
    category, condition = condition_of(rule)
    assert (category, condition) == ("any", expected)
    parse(f"any where {condition}")


def test_text_on_an_integer_field_fails() -> None:
    with pytest.raises(RuleError, match=re.escape("integer field 'destination.port'")):
        condition_of(_rule({"sel": {"destination.port": "08"}, "condition": "sel"}))


def test_not_is_true_for_a_missing_field() -> None:
    detection = {"sel": {"process.name": "a"}, "condition": "not sel"}
    events = [{"process": {"name": "a"}}, {"process": {"name": "b"}}, {"process": {}}]
    assert _matches(detection, events) == [2, 3]


def test_unmapped_field_names_the_field() -> None:
    with pytest.raises(RuleError, match=re.escape("no_such.field")):
        condition_of(_rule({"sel": {"no_such.field": "a"}, "condition": "sel"}))


@pytest.mark.parametrize(
    ("regex", "construct"),
    [
        ("a\\bb", "AT_BOUNDARY"),
        ("(?i)a", "(?i)"),
        ("a$b", "AT_END"),
        ("[\\S/]", "CATEGORY_NOT_SPACE"),
        ("(?i:a)b", "inline flags"),
    ],
)
def test_rule_with_regex_lucene_cannot_express_fails(regex: str, construct: str) -> None:
    rule = _rule({"sel": {"process.name|re": regex}, "condition": "sel"})
    with pytest.raises(RuleError, match=re.escape(construct)):
        condition_of(rule)


@pytest.mark.parametrize(("regex", "construct"), [("a(?=b)", "ASSERT"), ("(a)\\1", "GROUPREF")])
def test_regex_translation_refuses_python_only_constructs(regex: str, construct: str) -> None:
    # pySigma rejects these (RE2) before a backend sees them; the translator refuses them too.
    with pytest.raises(LuceneRegexError, match=construct):
        sigma_regex_to_lucene(regex)


@pytest.mark.parametrize(
    ("regex", "lucene"),
    [
        ("^a", "a.*"),
        ("a$", ".*a"),
        ("(^|[^0-9])x([^0-9]|$)", "(.*[^0-9])?x([^0-9].*)?"),
        ("(AKIA|ASIA)", ".*(A(KIA|SIA)).*"),
        ("\\d{2,}\\.", ".*[0-9]{2,}\\..*"),
        ("a.b", ".*a[^\n]b.*"),
        ("^a|b$", "(a.*|.*b)"),
    ],
)
def test_regex_translation(regex: str, lucene: str) -> None:
    assert sigma_regex_to_lucene(regex) == lucene


def test_case_insensitive_regex_folds_classes_lucene_does_not() -> None:
    assert sigma_regex_to_lucene("x[a-f0-9][^q]", ignore_case=True) == ".*x[a-f0-9A-F][^qQ].*"
    with pytest.raises(LuceneRegexError, match="non-ASCII letter"):
        sigma_regex_to_lucene("caf[é]", ignore_case=True)


def test_assessment_rule_says_level_is_not_reproduced() -> None:
    rule = pack().by_ref("cloud_image_launch")
    text = convert_rule(rule, pack())
    assert "decided per event by imagehunt" in text
    assert "decided per event by imagehunt" in detection_rule_object(rule, text)["description"]


def test_correlation_is_an_ordered_sequence() -> None:
    text = convert_rule(pack().by_ref("miner_then_pool"), pack())
    assert text.startswith("sequence by host.name with maxspan=5m\n  [process where ")
    assert "\n  [network where " in text


# ---- Kibana rule object --------------------------------------------------------------------
def test_detection_rule_object_fields() -> None:
    rule = pack().by_ref("miner_process")
    query = convert_rule(rule, pack())
    obj = detection_rule_object(rule, query)
    assert obj["rule_id"] == "375d2f9d-55cf-4f75-a670-466ed64205c6"
    assert obj["name"] == rule.ref.title
    assert (obj["type"], obj["language"], obj["query"]) == ("eql", "eql", query)
    assert (obj["risk_score"], obj["severity"]) == (73, "high")
    assert "logs-*" in obj["index"]
    assert obj["false_positives"] == list(rule.falsepositives)
    assert obj["note"].startswith("1. Which image or VM started it?")
    tactics = {t["tactic"]["id"]: t for t in obj["threat"]}
    assert set(tactics) == {"TA0002", "TA0040"}
    execution = tactics["TA0002"]["technique"][0]
    assert execution["id"] == "T1204"
    assert execution["subtechnique"][0]["id"] == "T1204.003"
    assert tactics["TA0040"]["technique"][0]["id"] == "T1496"
    json.dumps(obj)


@pytest.mark.parametrize(
    ("level", "score", "severity"),
    [
        ("low", 21, "low"),
        ("medium", 47, "medium"),
        ("high", 73, "high"),
        ("critical", 99, "critical"),
    ],
)
def test_risk_score_follows_level(level: str, score: int, severity: str) -> None:
    rule = pack().by_ref("pool_dns")
    rule = replace(rule, ref=replace(rule.ref, level=level))
    obj = detection_rule_object(rule, "network where true")
    assert (obj["risk_score"], obj["severity"]) == (score, severity)
