"""The QRadar AQL target: golden output, structure, seed defects A1-A8, failures by name.

No QRadar is available here, so the queries are never run; they are compared with golden files
(``IMAGEHUNT_UPDATE_GOLDEN=1`` rewrites them), checked for balanced quotes and parentheses and
for names outside the documented mapping, and the Java regexes they hold are run with Python's
``re`` (same meaning for the constructs the target emits) on the seed defects' events.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from imagehunt import schema
from imagehunt.backends import qradar
from imagehunt.backends.qradar_regex import JavaRegexError, search_to_java
from imagehunt.backends.targets import Target, convert_pack
from imagehunt.errors import RuleError
from imagehunt.pipelines import placeholder_pipeline
from imagehunt.rulepack import RulePack, load_pack
from support.pack_rules import pack_rule as _rule
from support.query_text import assert_balanced_parentheses, assert_golden

GOLDEN = Path(__file__).parent / "golden" / "qradar"
ALIASES = {"EventTime", "LogSource", "EventName", "DetectionBranch", "Step"}
BUILTIN_COLUMNS = {"devicetime", "logsourceid", "qid", "sourceip", "username", "events"}
# Rules QRadar events cannot serve, and the words their error must contain.
NOT_CONVERTED = {
    "cloud_image_inventory": "context rule",
    "image_malicious_namespace": "field 'process.args' is not carried by QRadar events",
    "image_typosquat": "field 'process.args' is not carried by QRadar events",
    "image_pull_malicious_namespace": "field 'container.image.name' is not carried",
    "image_pull_typosquat": "field 'container.image.name' is not carried",
}


@cache
def pack() -> RulePack:
    return load_pack()


@cache
def query(name: str) -> str:
    return qradar.convert(pack().by_ref(name), pack(), "aql")


def converted() -> list[str]:
    return [r.name for r in pack().rules if r.name not in NOT_CONVERTED]


def code_of(text: str) -> str:
    """``text`` without comments and with every string literal emptied."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"'(?:[^']|'')*'", "''", text)


def matches_patterns(text: str, column: str) -> list[str]:
    """The regexes of every ``<column> MATCHES '...'``, unquoted, as Python patterns."""
    found = re.finditer(re.escape(column) + r" MATCHES '((?:[^']|'')*)'", text)
    return [
        m.group(1).replace("''", "'").replace("(?iu)", "(?i)").replace("\\z", "\\Z") for m in found
    ]


def any_match(patterns: list[str], value: str) -> bool:
    """True when one pattern matches, read as a search and as a whole-value match alike."""
    found = [bool(re.search(p, value)) for p in patterns]
    whole = [bool(re.fullmatch(p, value)) for p in patterns]
    assert found == whole
    return any(found)


# ---- every rule ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [r.name for r in load_pack().rules])
def test_golden(name: str) -> None:
    try:
        text, suffix = query(name) + "\n", "aql"
    except RuleError as exc:
        text, suffix = str(exc).split(": ", 1)[1] + "\n", "error"
    path = GOLDEN / f"{name}.{suffix}"
    assert_golden(path, text)


@pytest.mark.parametrize("name", converted())
def test_structure(name: str) -> None:
    text = query(name)
    assert text.count("/*") == text.count("*/")
    code = code_of(text)
    assert "'" not in code.replace("''", ""), "unbalanced single quotes"
    assert code.count('"') % 2 == 0, "unbalanced double quotes"
    assert_balanced_parentheses(code)
    mapping = qradar.mapping()
    documented = set(mapping.fields.values()) | set(mapping.ipv6_columns.values())
    for quoted in re.findall(r'"([^"]*)"', code):
        assert quoted in documented | ALIASES, f"undocumented property {quoted!r}"
    for word in re.findall(r"\b[a-z][a-z0-9_.]*\b", re.sub(r'"[^"]*"', "", code)):
        assert word in documented | BUILTIN_COLUMNS, f"undocumented column {word!r}"


@pytest.mark.parametrize("name", converted())
def test_no_ecs_field_left(name: str) -> None:
    code = re.sub(r'"[^"]*"', "", code_of(query(name)))
    for field in schema.FIELD_NAMES:
        if "." in field:
            assert field not in code


@pytest.mark.parametrize(("name", "words"), sorted(NOT_CONVERTED.items()))
def test_rules_that_cannot_be_converted_say_why(name: str, words: str) -> None:
    with pytest.raises(RuleError, match=re.escape(words)) as info:
        query(name)
    assert info.value.file and info.value.line


def test_pack_conversion_keeps_the_other_rules() -> None:
    target = Target("qradar", "", qradar.FORMATS, qradar.convert)
    result = convert_pack(pack(), target, "aql", pack().rules)
    assert sorted(e_name(e) for e in result.errors) == sorted(NOT_CONVERTED)
    assert sorted(result.converted) == sorted(converted())


def e_name(error: RuleError) -> str:
    return re.search(r"rule '([^']+)'", str(error)).group(1)  # type: ignore[union-attr]


# ---- seed defects (shared/reference/seed_defects.md) ---------------------------------------
def test_a1_private_ranges_are_real_cidr_tests() -> None:
    text = query("pool_connection")
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"):
        assert f"INCIDR('{network}', destinationip)" in text
    assert "172.17." not in text and "destinationip ILIKE" not in text


def test_a2_ipv6_link_local_and_cgnat_are_excluded() -> None:
    text = query("pool_connection")
    for network in ("::1/128", "fc00::/7", "fe80::/10"):
        assert f"INCIDR('{network}', destinationv6)" in text
    for network in ("169.254.0.0/16", "100.64.0.0/10"):
        assert f"INCIDR('{network}', destinationip)" in text
    assert "INCIDR('::ffff:10.0.0.0/104', destinationv6)" in text  # IPv4-mapped form


def test_a3_browsers_are_excluded_by_path_not_name() -> None:
    text = query("pool_connection")
    exclusion = text[text.rindex("AND NOT") :]
    assert '"Process Path"' in exclusion and '"Process Name"' not in text
    paths = matches_patterns(exclusion, '"Process Path"')
    assert any_match(paths, "C:\\Program Files\\Mozilla Firefox\\firefox.exe")
    assert not any_match(paths, "C:\\Users\\bob\\AppData\\Local\\Temp\\chrome.exe")


def test_a6_every_rule_keeps_its_own_label() -> None:
    labels = []
    for name in converted():
        text = query(name)
        assert "CASE" not in code_of(text)
        rule = pack().by_ref(name)
        assert f"'{rule.ref.branch}' AS \"DetectionBranch\"" in text
        labels.append(rule.ref.branch)
    assert {"MinerProcessExecution", "MinerCommandLineArgs"} <= set(labels)
    # the seed's WHERE-only names (no CASE label there) are in the miner_process query
    text = query("miner_process")
    assert "'cryptonight'" in text and "'xmrig%'" in text


def test_a7_log_source_types_come_from_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "LOGSOURCETYPEID(logsourceid) IN (11, 12, 433, 444, 454)" in query("miner_process")
    mapping = qradar.mapping()
    types = {**mapping.logsource_types, "process_creation": (4242,)}
    changed = dataclasses.replace(mapping, logsource_types=types)
    monkeypatch.setattr(qradar, "mapping", lambda: changed)
    text = qradar.convert(pack().by_ref("miner_process"), pack(), "aql")
    assert "LOGSOURCETYPEID(logsourceid) IN (4242)" in text


def test_a8_curated_ports_compared_as_numbers() -> None:
    text = query("pool_connection")
    ports = re.search(r"destinationport IN \(([0-9, ]+)\)", text)
    assert ports is not None
    numbers = {int(p) for p in ports.group(1).split(", ")}
    assert 3333 in numbers and 8333 not in numbers and 25 not in numbers


def test_strings_are_case_insensitive() -> None:
    text = query("miner_process")
    assert re.search(r'"Process Name" (=|LIKE) ', text) is None
    assert "\"Process Name\" ILIKE 'xmrig%'" in text
    patterns = matches_patterns(query("miner_cmdline"), '"Command"')
    assert all(p.startswith("(?i)") for p in patterns[:2])
    assert any_match(patterns, "XMRIG -o STRATUM+TCP://pool.example.com:3333")


def test_donate_level_with_a_value_is_caught() -> None:
    patterns = matches_patterns(query("miner_cmdline"), '"Command"')
    assert any_match(patterns, "./sysupdate --donate-level=1")
    assert not any_match(patterns, "/usr/bin/python3 -m http.server 8080")


def test_dns_subdomains_match_on_a_label_boundary() -> None:
    text = query("pool_dns")
    assert "\"DNS Query\" ILIKE '%.minexmr.com'" in text
    assert "\"DNS Query\" ILIKE 'minexmr.com'" in text
    assert "'%minexmr.com'" not in text


def test_correlation_gives_both_steps_and_the_cre_recipe() -> None:
    text = query("miner_then_pool")
    head = text[: text.index("*/")]
    assert "in this order" in head and "within 5 minutes" in head and '"Hostname"' in head
    assert "critical" in head
    steps = text.split("/* step ")[1:]
    assert len(steps) == 2
    assert '"Process Name"' in steps[0] and '"Command"' in steps[0]
    assert "destinationport IN" in steps[1] and '"DNS Query"' in steps[1]
    assert all('"Hostname"' in step for step in steps)


# ---- values, mapping, failures -------------------------------------------------------------
HOSTILE = "x' or 1=1 --\""


def _where(detection: dict[str, Any]) -> str:
    condition, _ = qradar.condition_of(_rule({"sel": detection, "condition": "sel"}))
    return condition.split("\n  AND ", 1)[1]


def test_hostile_value_stays_a_value() -> None:
    condition = _where({"process.name": HOSTILE})
    assert condition == "(\"Process Name\" ILIKE 'x'' or 1=1 --\"')"
    assert "'" not in code_of(condition).replace("''", "")


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ({"process.name|cased": "XMRig"}, "(\"Process Name\" = 'XMRig')"),
        ({"process.name|endswith": "rig"}, "(\"Process Name\" ILIKE '%rig')"),
        ({"process.name": "50%_off"}, "(\"Process Name\" MATCHES '(?iu)^50\\%\\_off\\z')"),
        ({"destination.port": ["80", 443]}, "(destinationport IN (80, 443))"),
        ({"destination.ip|cidr": "fc00::/7"}, "(INCIDR('fc00::/7', destinationv6))"),
        ({"process.name|exists": True}, '("Process Name" IS NOT NULL)'),
        ({"process.name|re|i": "^x"}, "(\"Process Name\" MATCHES '(?iu)[\\s\\S]*(?:^x)[\\s\\S]*')"),
    ],
)
def test_leaf_forms(detection: dict[str, Any], expected: str) -> None:
    assert _where(detection) == expected


def test_not_is_guarded_for_a_missing_field() -> None:
    rule = _rule({"sel": {"process.name": "a"}, "condition": "not sel"})
    condition, _ = qradar.condition_of(rule)
    assert 'NOT ("Process Name" IS NOT NULL AND "Process Name" ILIKE \'a\')' in condition


def test_text_on_an_integer_field_fails() -> None:
    with pytest.raises(RuleError, match=re.escape("integer field 'destination.port'")):
        _where({"destination.port": "08"})


def test_unmapped_field_fails_naming_field_and_mapping() -> None:
    with pytest.raises(RuleError, match=r"field 'host\.id' has no QRadar mapping .*qradar\.yml"):
        _where({"host.id": "a"})


def test_unavailable_field_is_dropped_from_an_or_only() -> None:
    rule = _rule(
        {
            "a": {"process.args": "--donate-level"},
            "b": {"process.command_line|contains": "--donate-level"},
            "condition": "a or b",
        }
    )
    condition, _ = qradar.condition_of(rule)
    assert "process.args" not in condition and "\"Command\" ILIKE '%--donate-level%'" in condition


def test_changing_an_indicator_value_changes_the_query() -> None:
    rule = _rule({"sel": {"process.name|expand": "%miner_names%"}, "condition": "sel"})
    pipeline = placeholder_pipeline()
    before, _ = qradar.condition_of(rule, pipeline)
    pipeline = placeholder_pipeline()
    pipeline.vars = {**pipeline.vars, "miner_names": ["only-this-miner"]}
    after, _ = qradar.condition_of(rule, pipeline)
    assert before != after
    assert "'only-this-miner'" in after and "xmrig" not in after


@pytest.mark.parametrize(
    ("regex", "construct"),
    [("[[a]", "nested class"), ("[a&&b]", "intersection"), ("(?P<n>a)", "named groups")],
)
def test_regex_constructs_java_reads_otherwise_fail(regex: str, construct: str) -> None:
    with pytest.raises(JavaRegexError, match=construct):
        search_to_java(regex, ignore_case=False, dotall=False)


def test_unknown_format_fails() -> None:
    with pytest.raises(RuleError, match="unknown format"):
        qradar.convert(pack().by_ref("miner_process"), pack(), "json")
