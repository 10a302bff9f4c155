"""Unit tests of the DuckDB backend's SQL semantics on small hand-made rules and events.

Each test compiles a rule with ``DuckDBBackend()``, runs the SQL over a table of events
registered in an ``imagehunt.engine.session.connect()`` session, and compares the selected
event indexes with the expected ones. ``assert_selects`` also checks that the reference
matcher agrees, so these cases pin the oracle used by the property tests as well.

Cases the property tests once found wrong are pinned at the end of the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sigma.exceptions import SigmaError, SigmaFeatureNotSupportedByBackendError

from imagehunt.backends.duckdb import REGEX_MERGE_THRESHOLD, DuckDBBackend
from support.reference_matcher import matches
from support.sql_eval import EventTable, backend_matches, compile_rule, rule_from_detection

Event = dict[str, Any]


def select(detection: Mapping[str, Any], events: Sequence[Event]) -> set[int]:
    """Indexes of ``events`` that the backend's SQL for the detection selects."""
    return backend_matches(rule_from_detection(detection), events)


def assert_selects(
    detection: Mapping[str, Any], events: Sequence[Event], expected: set[int]
) -> None:
    """The backend selects exactly ``expected``, and so does the reference matcher."""
    rule = rule_from_detection(detection)
    reference = {i for i, event in enumerate(events) if matches(rule, event)}
    assert reference == expected, f"reference matcher disagrees: {sorted(reference)}"
    actual = backend_matches(rule, events)
    assert actual == expected, f"SQL {compile_rule(rule)} selected {sorted(actual)}"


def names(*values: str | None) -> list[Event]:
    """One event per value of ``process.name`` (None: the field is absent)."""
    return [{} if v is None else {"process.name": v} for v in values]


def sql_of(detection: Mapping[str, Any]) -> str:
    return compile_rule(rule_from_detection(detection))


# ---- strings: case, wildcards ------------------------------------------------------------


def test_plain_value_matches_whole_string_case_insensitively() -> None:
    events = names("xmrig", "XMRIG", "XmRiG", "xmrig2", "my-xmrig", None)
    assert_selects({"sel": {"process.name": "XMRig"}, "condition": "sel"}, events, {0, 1, 2})


def test_case_folding_covers_non_ascii_letters() -> None:
    events = names("жук", "ЖУК", "Жук", "жуки", "ÉTÉ", "été")
    assert_selects({"sel": {"process.name": "жУк"}, "condition": "sel"}, events, {0, 1, 2})
    assert_selects({"sel": {"process.name": "été"}, "condition": "sel"}, events, {4, 5})


def test_cased_modifier_is_case_sensitive() -> None:
    events = names("XMRig", "xmrig", "XMRIG", "aXMRigb")
    assert_selects({"sel": {"process.name|cased": "XMRig"}, "condition": "sel"}, events, {0})
    detection = {"sel": {"process.name|contains|cased": "XMRig"}, "condition": "sel"}
    assert_selects(detection, events, {0, 3})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("xm*", {0, 1, 3}),  # prefix
        ("*rig", {0, 1, 4}),  # suffix
        ("*mri*", {0, 1, 3, 4}),  # contains
        ("x?rig", {0, 1}),  # ? is exactly one character
        ("x??rig", set()),
        ("x*g", {0, 1}),  # inner wildcard
        ("*", {0, 1, 2, 3, 4}),  # anything present, even empty text
        ("?", set()),
    ],
)
def test_wildcards(value: str, expected: set[int]) -> None:
    events = [*names("xmrig", "XMRIG", "", "xmrig.exe", "axmrig"), {}]
    assert_selects({"sel": {"process.name": value}, "condition": "sel"}, events, expected)


def test_wildcards_span_newlines() -> None:
    events = names("a\nb", "a\n\nb", "ab")
    assert_selects({"sel": {"process.name": "a*b"}, "condition": "sel"}, events, {0, 1, 2})
    assert_selects({"sel": {"process.name": "a?b"}, "condition": "sel"}, events, {0})


def test_escaped_wildcards_and_backslashes_are_literal() -> None:
    events = names("a*b", "axb", "a?b", "a\\b", "a\\xb", "C:\\Windows\\System32")
    assert_selects({"sel": {"process.name": "a\\*b"}, "condition": "sel"}, events, {0})
    assert_selects({"sel": {"process.name": "a\\?b"}, "condition": "sel"}, events, {2})
    assert_selects({"sel": {"process.name": "a\\\\b"}, "condition": "sel"}, events, {3})
    # a backslash before an ordinary character stays a backslash
    detection = {"sel": {"process.name": "c:\\windows\\system32"}, "condition": "sel"}
    assert_selects(detection, events, {5})
    # escaped backslash followed by a wildcard: literal backslash, then any run
    assert_selects({"sel": {"process.name": "a\\\\*"}, "condition": "sel"}, events, {3, 4})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100%", {0}),  # % is not a LIKE wildcard
        ("1_0", {2}),  # _ is not a LIKE wildcard
        ("*0%*", {0}),
        ("*_*", {2, 4}),
        ("?%", set()),
        ("1?0", {2, 3}),
        ("*\\\\%*", {5}),  # literal backslash before a literal %
        ("*\\\\_*", set()),
    ],
)
def test_sql_like_metacharacters_are_literal(value: str, expected: set[int]) -> None:
    events = names("100%", "1000", "1_0", "1x0", "a_b", "5\\%")
    assert_selects({"sel": {"process.name": value}, "condition": "sel"}, events, expected)


INJECTION = "x' OR 1=1 --"


@pytest.mark.parametrize(
    "value",
    [
        INJECTION,  # equality
        f"*{INJECTION}",  # suffix
        f"{INJECTION}*",  # prefix
        f"*{INJECTION}*",  # contains
        "x' OR ?=1 --",  # LIKE
        ["a*b?", "c*d?", "e*f?", "g*h?", "x' OR ?=? --"],  # merged regex (5 patterns)
        ["other", INJECTION],  # IN list
    ],
)
def test_quotes_in_values_cannot_change_the_query(value: Any) -> None:
    events = names(INJECTION, "x", "anything", "x' OR 1=1", "X' or 1=1 --", None)
    assert_selects({"sel": {"process.name": value}, "condition": "sel"}, events, {0, 4})


def test_quotes_in_regex_keyword_and_cased_values() -> None:
    events = names(INJECTION, "x", 'it\'s "quoted"')
    detection = {"sel": {"process.name|re": "^x' OR 1=1 --$"}, "condition": "sel"}
    assert_selects(detection, events, {0})
    assert_selects({"sel": {"process.name|cased": INJECTION}, "condition": "sel"}, events, {0})
    assert_selects({"kw": [INJECTION], "condition": "kw"}, events, {0})
    assert_selects({"sel": {"process.name": 'it\'s "quoted"'}, "condition": "sel"}, events, {2})


# ---- arrays, missing fields ----------------------------------------------------------------


def test_array_field_matches_when_any_element_matches() -> None:
    events: list[Event] = [
        {"process.args": ["xmrig", "-o", "stratum+tcp://pool:3333"]},
        {"process.args": ["curl", "-O", "http://x"]},
        {"process.args": []},
        {},
        {"process.args": ["STRATUM+TCP://A"]},
    ]
    detection = {"sel": {"process.args|startswith": "stratum+tcp://"}, "condition": "sel"}
    assert_selects(detection, events, {0, 4})
    assert_selects({"sel": {"process.args": "-o"}, "condition": "sel"}, events, {0, 1})
    assert_selects({"sel": {"process.args|cased": "-o"}, "condition": "sel"}, events, {0})
    negated = {"sel": {"process.args|contains": "stratum"}, "condition": "not sel"}
    assert_selects(negated, events, {1, 2, 3})


def test_all_modifier_requires_every_value() -> None:
    events: list[Event] = [
        {"process.command_line": "xmrig -o pool --donate-level 0"},
        {"process.command_line": "xmrig -o pool"},
        {"process.args": ["--donate-level", "-o"]},
        {"process.args": ["-o"]},
    ]
    detection = {
        "sel": {"process.command_line|contains|all": ["-o", "--donate"]},
        "condition": "sel",
    }
    assert_selects(detection, events, {0})
    detection = {"sel": {"process.args|all": ["-o", "--donate-level"]}, "condition": "sel"}
    assert_selects(detection, events, {2})


def test_not_of_a_missing_field_is_true() -> None:
    events: list[Event] = [{"process.name": "xmrig"}, {"process.name": "bash"}, {}, {}]
    events[3]["process.name"] = None  # present but null: same as absent
    assert_selects({"sel": {"process.name": "xmrig"}, "condition": "not sel"}, events, {1, 2, 3})
    assert_selects({"sel": {"process.name|neq": "xmrig"}, "condition": "sel"}, events, {1, 2, 3})


def test_and_or_not_combine_null_safely() -> None:
    events: list[Event] = [
        {"process.name": "xmrig", "destination.port": 3333},
        {"process.name": "xmrig"},
        {"destination.port": 3333},
        {},
    ]
    base = {"a": {"process.name": "xmrig"}, "b": {"destination.port": 3333}}
    assert_selects({**base, "condition": "a and not b"}, events, {1})
    assert_selects({**base, "condition": "not (a or b)"}, events, {3})
    assert_selects({**base, "condition": "not a and not b"}, events, {3})
    assert_selects({**base, "condition": "not (a and b)"}, events, {1, 2, 3})
    assert_selects({**base, "condition": "1 of them"}, events, {0, 1, 2})
    assert_selects({**base, "condition": "all of them"}, events, {0})


def test_conditions_of_one_rule_are_or_ed() -> None:
    detection = {
        "a": {"process.name": "xmrig"},
        "b": {"process.name": "minerd"},
        "condition": ["a", "b"],
    }
    rule = rule_from_detection(detection)
    assert len(DuckDBBackend().convert_rule(rule)) == 2
    assert_selects(detection, names("xmrig", "minerd", "bash"), {0, 1})


def test_exists_and_null() -> None:
    ts = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    events: list[Event] = [
        {"process.name": "", "process.args": ["a"], "@timestamp": ts},
        {"process.args": []},
        {"destination.port": 0},
        {},
    ]
    assert_selects({"sel": {"process.name|exists": True}, "condition": "sel"}, events, {0})
    assert_selects({"sel": {"process.name|exists": False}, "condition": "sel"}, events, {1, 2, 3})
    assert_selects({"sel": {"process.args|exists": True}, "condition": "sel"}, events, {0})
    assert_selects({"sel": {"process.args": None}, "condition": "sel"}, events, {1, 2, 3})
    assert_selects({"sel": {"destination.port|exists": True}, "condition": "sel"}, events, {2})
    assert_selects({"sel": {"destination.port": None}, "condition": "sel"}, events, {0, 1, 3})
    assert_selects({"sel": {"@timestamp|exists": True}, "condition": "sel"}, events, {0})


# ---- numbers ---------------------------------------------------------------------------------


def test_integer_field_against_numbers_and_strings() -> None:
    events: list[Event] = [{"destination.port": p} for p in (3333, 333, 43333, 33330)]
    events.append({})
    assert_selects({"sel": {"destination.port": 3333}, "condition": "sel"}, events, {0})
    assert_selects({"sel": {"destination.port": "3333"}, "condition": "sel"}, events, {0})
    assert_selects({"sel": {"destination.port": "333*"}, "condition": "sel"}, events, {0, 1, 3})
    assert_selects({"sel": {"destination.port": "*333"}, "condition": "sel"}, events, {0, 1, 2})
    assert_selects({"sel": {"destination.port": "3?33"}, "condition": "sel"}, events, {0})
    assert_selects({"sel": {"destination.port": "abc"}, "condition": "sel"}, events, set())
    detection = {"sel": {"destination.port": [3333, "333", 14444, "abc"]}, "condition": "sel"}
    assert_selects(detection, events, {0, 1})
    assert_selects(
        {"sel": {"destination.port": 3333}, "condition": "not sel"}, events, {1, 2, 3, 4}
    )


def test_number_against_string_field_compares_text() -> None:
    events = names("123", "0123", "1234", "x123")
    assert_selects({"sel": {"process.name": 123}, "condition": "sel"}, events, {0})
    assert_selects({"sel": {"process.name": [123, 1234]}, "condition": "sel"}, events, {0, 2})
    arrays: list[Event] = [{"event.type": ["start", "3333"]}, {"event.type": ["33330"]}]
    assert_selects({"sel": {"event.type": 3333}, "condition": "sel"}, arrays, {0})


@pytest.mark.parametrize(
    ("modifier", "expected"),
    [("gt", {2, 3}), ("gte", {1, 2, 3}), ("lt", {0}), ("lte", {0, 1})],
)
def test_compare_operators(modifier: str, expected: set[int]) -> None:
    events: list[Event] = [{"destination.port": p} for p in (80, 1024, 1025, 65535)]
    events.append({})
    detection = {"sel": {f"destination.port|{modifier}": 1024}, "condition": "sel"}
    assert_selects(detection, events, expected)


def test_compare_on_a_string_field_uses_numeric_text_only() -> None:
    events = names("12", "9", "abc", "10", None)
    assert_selects({"sel": {"process.name|gt": 10}, "condition": "sel"}, events, {0})
    assert_selects({"sel": {"process.name|lte": 10}, "condition": "sel"}, events, {1, 3})


def test_boolean_value_matches_its_text() -> None:
    events = names("true", "TRUE", "false", "yes")
    assert_selects({"sel": {"process.name": True}, "condition": "sel"}, events, {0, 1})
    assert_selects({"sel": {"process.name": False}, "condition": "sel"}, events, {2})


# ---- regular expressions ---------------------------------------------------------------------


def test_regex_is_a_case_sensitive_search() -> None:
    events = [{"process.command_line": c} for c in ("xmrig --coin", "XMRIG --COIN", "run xmrig")]
    assert_selects(
        {"sel": {"process.command_line|re": "xmrig"}, "condition": "sel"}, events, {0, 2}
    )
    detection = {"sel": {"process.command_line|re": "^xmrig"}, "condition": "sel"}
    assert_selects(detection, events, {0})
    detection = {"sel": {"process.command_line|re|i": "^XMRIG --coin$"}, "condition": "sel"}
    assert_selects(detection, events, {0, 1})


def test_regex_multiline_and_dotall_flags() -> None:
    events = [{"process.command_line": c} for c in ("a\nxmrig", "a xmrig", "xmrig\nb", "xmrigb")]
    line_start = {"sel": {"process.command_line|re": "^xmrig"}, "condition": "sel"}
    assert_selects(line_start, events, {2, 3})
    multiline = {"sel": {"process.command_line|re|m": "^xmrig$"}, "condition": "sel"}
    assert_selects(multiline, events, {0, 2})
    no_dotall = {"sel": {"process.command_line|re": "a.xmrig"}, "condition": "sel"}
    assert_selects(no_dotall, events, {1})
    dotall = {"sel": {"process.command_line|re|s": "a.xmrig"}, "condition": "sel"}
    assert_selects(dotall, events, {0, 1})
    all_flags = {"sel": {"process.command_line|re|i|m|s": "^XMRIG.B$"}, "condition": "sel"}
    assert_selects(all_flags, events, {2})


def test_regex_on_arrays_and_integers() -> None:
    events: list[Event] = [
        {"process.args": ["-o", "stratum+tcp://p:3333"], "destination.port": 3333},
        {"process.args": ["-o"], "destination.port": 443},
    ]
    detection = {"sel": {"process.args|re": "^stratum\\+(tcp|ssl)://"}, "condition": "sel"}
    assert_selects(detection, events, {0})
    detection = {"sel": {"destination.port|re": "^3{4}$"}, "condition": "sel"}
    assert_selects(detection, events, {0})


def test_keyword_regex_is_rejected() -> None:
    rule = rule_from_detection({"kw": {"|re": "xmr.g"}, "condition": "kw"})
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="keyword regular"):
        DuckDBBackend().convert_rule(rule)


# ---- CIDR ------------------------------------------------------------------------------------


def ips(*values: str | None) -> list[Event]:
    return [{} if v is None else {"destination.ip": v} for v in values]


def test_cidr_ipv4_range_and_boundaries() -> None:
    events = ips("10.0.0.0", "10.255.255.255", "11.0.0.0", "9.255.255.255", "10.1.2.3", None)
    assert_selects(
        {"sel": {"destination.ip|cidr": "10.0.0.0/8"}, "condition": "sel"}, events, {0, 1, 4}
    )
    detection = {"sel": {"destination.ip|cidr": "10.1.2.3/32"}, "condition": "sel"}
    assert_selects(detection, events, {4})
    detection = {"sel": {"destination.ip|cidr": "0.0.0.0/0"}, "condition": "sel"}
    assert_selects(detection, events, {0, 1, 2, 3, 4})
    detection = {"sel": {"destination.ip|cidr": "10.0.0.0/8"}, "condition": "not sel"}
    assert_selects(detection, events, {2, 3, 5})


def test_cidr_list_is_any_range() -> None:
    events = ips("10.1.1.1", "172.20.1.5", "192.168.9.9", "8.8.8.8", "172.32.0.1")
    detection = {
        "sel": {"destination.ip|cidr": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]},
        "condition": "sel",
    }
    assert_selects(detection, events, {0, 1, 2})


def test_cidr_ipv6_range() -> None:
    events = ips(
        "2001:db8::1", "2001:DB8:0:0:0:0:0:FFFF", "2001:db9::1", "::1", "fe80::1", "10.0.0.1"
    )
    detection = {"sel": {"destination.ip|cidr": "2001:db8::/32"}, "condition": "sel"}
    assert_selects(detection, events, {0, 1})
    detection = {"sel": {"destination.ip|cidr": "::1/128"}, "condition": "sel"}
    assert_selects(detection, events, {3})
    detection = {"sel": {"destination.ip|cidr": "::/0"}, "condition": "sel"}
    assert_selects(detection, events, {0, 1, 2, 3, 4})


def test_cidr_ipv4_range_matches_ipv4_mapped_ipv6() -> None:
    events = ips(
        "::ffff:10.1.2.3",
        "::FFFF:10.1.2.3",
        "::ffff:a01:203",
        "::ffff:11.0.0.1",
        "::10.1.2.3",
        "64:ff9b::10.1.2.3",
    )
    detection = {"sel": {"destination.ip|cidr": "10.0.0.0/8"}, "condition": "sel"}
    assert_selects(detection, events, {0, 1, 2})
    # an IPv6 range does not cover plain IPv4 text
    detection = {"sel": {"destination.ip|cidr": "::ffff:0:0/96"}, "condition": "sel"}
    assert_selects(detection, [*events, *ips("10.1.2.3")], {0, 1, 2, 3})


def test_cidr_strips_ipv6_zone_ids() -> None:
    events = ips("fe80::1%eth0", "fe80::1%1", "fe80::1", "fec0::1%eth0", "::ffff:10.0.0.1%lo")
    detection = {"sel": {"destination.ip|cidr": "fe80::/10"}, "condition": "sel"}
    assert_selects(detection, events, {0, 1, 2})
    detection = {"sel": {"destination.ip|cidr": "10.0.0.0/8"}, "condition": "sel"}
    assert_selects(detection, events, {4})


@pytest.mark.parametrize(
    "junk",
    [
        "not an ip",
        "",
        "10.0.0.256",
        "10.0.0",
        "10.0.0.1.5",
        "010.0.0.1",  # leading zeros: not an address
        "10.00.0.1",
        "::ffff:010.0.0.1",
        " 10.0.0.1",
        "10.0.0.1 ",
        "10.0.0.1/8",
        "10.0.0.1%eth0",
        "1:2:3:4:5:6:7:8:9",
        "1::2::3",
        "12345::1",
        "g::1",
        "::ffff:10.0.0.1.5",
        "fe80::1%a%b",
    ],
)
def test_cidr_never_matches_non_addresses(junk: str) -> None:
    events = ips(junk, "10.0.0.1")
    for network in ("10.0.0.0/8", "0.0.0.0/0", "::/0"):
        detection = {"sel": {"destination.ip|cidr": network}, "condition": "sel"}
        expected = {1} if network != "::/0" else set()
        assert_selects(detection, events, expected)


def test_cidr_on_array_field() -> None:
    events: list[Event] = [{"event.type": ["x", "192.168.1.1"]}, {"event.type": ["x"]}]
    detection = {"sel": {"event.type|cidr": "192.168.0.0/16"}, "condition": "sel"}
    assert_selects(detection, events, {0})


# ---- keyword search ------------------------------------------------------------------------


def test_keyword_search_looks_in_every_string_field() -> None:
    events: list[Event] = [
        {"process.name": "XMRig"},
        {"process.args": ["a", "xmrig"]},
        {"container.image.name": "xmrig"},
        {"process.command_line": "xmrig -o"},  # whole-value match: not equal
        {"destination.port": 3333},
        {},
    ]
    assert_selects({"kw": ["xmrig"], "condition": "kw"}, events, {0, 1, 2})
    assert_selects({"kw": ["*xmrig*"], "condition": "kw"}, events, {0, 1, 2, 3})
    assert_selects({"kw": ["xmrig", "3333"], "condition": "kw"}, events, {0, 1, 2})
    assert_selects({"kw": ["xmrig"], "condition": "not kw"}, events, {3, 4, 5})
    assert_selects({"kw": {"|all": ["xmrig*", "*-o"]}, "condition": "kw"}, events, {3})


def test_keyword_number_is_searched_as_text() -> None:
    events: list[Event] = [{"process.name": "3333"}, {"destination.port": 3333}, {}]
    assert_selects({"kw": [3333], "condition": "kw"}, events, {0})


# ---- OR lists: IN and merged regex ---------------------------------------------------------

TRICKY = ["a.b*", "(x)?", "*[y]+", "c\\\\d*", "e|f?", "ÉZ*", "g\nh*", "*'%_"]
TRICKY_EVENTS = names(
    "a.b",
    "A.Bc",
    "axb",
    "(x)1",
    "(x)",
    "q[y]+",
    "qy",
    "c\\d",
    "c\\\\d",
    "e|fz",
    "ef",
    "éz!",
    "g\nh",
    "gh",
    "x'%_",
    "x'ab",
    None,
)
TRICKY_EXPECTED = {
    "a.b*": {0, 1},
    "(x)?": {3},
    "*[y]+": {5},
    "c\\\\d*": {7},  # prefix c\d; not c\\d
    "e|f?": {9},
    "ÉZ*": {11},
    "g\nh*": {12},
    "*'%_": {14},
}


def wildcard_values(count: int) -> list[str]:
    return TRICKY[:count]


@pytest.mark.parametrize("count", [REGEX_MERGE_THRESHOLD - 1, REGEX_MERGE_THRESHOLD])
def test_few_wildcard_values_stay_separate_predicates(count: int) -> None:
    values = wildcard_values(count)
    detection = {"sel": {"process.name": values}, "condition": "sel"}
    assert "regexp_full_match" not in sql_of(detection)
    expected = set().union(*(TRICKY_EXPECTED[v] for v in values))
    assert_selects(detection, TRICKY_EVENTS, expected)


@pytest.mark.parametrize("count", [REGEX_MERGE_THRESHOLD + 1, len(TRICKY)])
def test_many_wildcard_values_merge_into_one_regex(count: int) -> None:
    values = wildcard_values(count)
    detection = {"sel": {"process.name": values}, "condition": "sel"}
    assert sql_of(detection).count("regexp_full_match") == 1
    expected = set().union(*(TRICKY_EXPECTED[v] for v in values))
    assert_selects(detection, TRICKY_EVENTS, expected)
    negated = {"sel": {"process.name": values}, "condition": "not sel"}
    assert_selects(negated, TRICKY_EVENTS, set(range(len(TRICKY_EVENTS))) - expected)


def test_merged_regex_keeps_case_sensitivity_per_group() -> None:
    cased = ["Ab*", "*Cd", "E?f", "G*h", "*Ij*"]
    events = names("Abx", "abx", "xCd", "xcd", "Exf", "exf", "Gzh", "gzh", "zIjz", "zijz")
    detection = {"sel": {"process.name|cased": cased}, "condition": "sel"}
    assert sql_of(detection).count("regexp_full_match") == 1
    assert_selects(detection, events, {0, 2, 4, 6, 8})
    folded = {"sel": {"process.name": cased}, "condition": "sel"}
    assert_selects(folded, events, set(range(10)))


def test_many_wildcard_values_on_array_and_integer_fields() -> None:
    values = ["-o*", "*stratum*", "--donate?level*", "*.onion", "x?"]
    events: list[Event] = [
        {"process.args": ["xmrig", "-O", "pool"]},
        {"process.args": ["STRATUM+tcp://x"]},
        {"process.args": ["--donate-level=1"]},
        {"process.args": ["abc.onionx"]},
        {"process.args": []},
    ]
    detection = {"sel": {"process.args": values}, "condition": "sel"}
    assert_selects(detection, events, {0, 1, 2})
    ports = [{"destination.port": p} for p in (3333, 14444, 45700, 80, 5555)]
    port_values = ["3*", "1444?", "*700", "9*", "5?5?"]
    detection = {"sel": {"destination.port": port_values}, "condition": "sel"}
    assert sql_of(detection).count("regexp_full_match") == 1
    assert_selects(detection, ports, {0, 1, 2, 4})


def test_exact_values_become_one_in_list() -> None:
    values = ["xmrig", "XMRig-Notls", "minerd", "cpuminer", "ccminer", "t-rex", "100%", "x_y"]
    detection = {"sel": {"process.name": values}, "condition": "sel"}
    sql = sql_of(detection)
    assert " IN (" in sql
    assert "regexp_full_match" not in sql
    events = names("XMRIG", "xmrig-notls", "T-Rex", "100%", "x_y", "xxy", "1000", "miner")
    assert_selects(detection, events, {0, 1, 2, 3, 4})


def test_mixed_exact_and_wildcard_values() -> None:
    values = ["xmrig", "*miner", "t-rex", "nanominer?", "gminer*", "lolMiner", "srb*"]
    events = names(
        "XMRig", "cpuminer", "T-Rex", "nanominer1", "gminer.exe", "lolminer", "srbminer", "bash"
    )
    detection = {"sel": {"process.name": values}, "condition": "sel"}
    assert_selects(detection, events, set(range(7)))


# ---- errors ---------------------------------------------------------------------------------


def test_unknown_field_is_an_error_naming_the_field() -> None:
    rule = rule_from_detection({"sel": {"Image|endswith": "/xmrig"}, "condition": "sel"})
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="'Image'"):
        DuckDBBackend().convert_rule(rule)


def test_unknown_field_in_a_value_list_is_an_error() -> None:
    rule = rule_from_detection({"sel": {"proc.name": ["a*b", "c", "d?"]}, "condition": "sel"})
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match=r"'proc\.name'"):
        DuckDBBackend().convert_rule(rule)


def test_nul_character_is_rejected_not_truncated() -> None:
    rule = rule_from_detection({"sel": {"process.name": "xmrig\x00.exe"}, "condition": "sel"})
    with pytest.raises(SigmaError, match="NUL"):
        DuckDBBackend().convert_rule(rule)


def test_compiled_sql_runs_on_an_empty_table() -> None:
    """Every SQL form (IN, LIKE, regex, CIDR, arrays, NOT) is valid DuckDB."""
    detection = {
        "a": {"process.name": ["x*y", "a", "b", "c?d", "e*", "*f", "g*h*"]},
        "b": {"destination.ip|cidr": ["10.0.0.0/8", "fd00::/8"], "destination.port|gte": 1},
        "c": {"process.args|re|i": "^-o$", "event.type": "start"},
        "condition": "a and not (b or c)",
    }
    table = EventTable([])
    try:
        assert table.select(sql_of(detection)) == set()
        table.load([{"process.name": "xzy"}])
        assert table.select(sql_of(detection)) == {0}
    finally:
        table.close()


# ---- cases that were backend bugs, found by the property tests ------------------------------


@pytest.mark.parametrize(("value", "port"), [("080", 80), ("-0", 0), ("0443", 443)])
def test_leading_zero_text_on_integer_field_compares_text(value: str, port: int) -> None:
    assert (
        select(
            {"sel": {"destination.port": value}, "condition": "sel"}, [{"destination.port": port}]
        )
        == set()
    )


@pytest.mark.parametrize(
    ("junk", "network"),
    [
        (":::", "::/0"),
        ("::1:2:3:4:5:6:7:8", "1::/16"),
        ("1:2:3:4::5:6:7:8", "1::/16"),
        ("1:2:3:4:5:6:7:8::", "1::/16"),
        ("a:::", "a::/16"),
        ("fe80::1%", "fe80::/10"),
    ],
)
def test_ipv6_like_junk_never_matches(junk: str, network: str) -> None:
    detection = {"sel": {"destination.ip|cidr": network}, "condition": "sel"}
    assert select(detection, ips(junk)) == set()


def test_cased_keyword_is_case_sensitive() -> None:
    detection = {"kw": {"|cased": "XMRig"}, "condition": "kw"}
    assert select(detection, names("xmrig", "XMRig")) == {1}


def test_known_bug_cases_are_right_in_the_reference() -> None:
    """The xfail cases above assert what the reference matcher says (the intended meaning)."""
    port_rule = rule_from_detection({"sel": {"destination.port": "080"}, "condition": "sel"})
    assert [matches(port_rule, {"destination.port": p}) for p in (80, 8080)] == [False, False]
    assert matches(port_rule, {"process.name": "x"}) is False
    ip_rule = rule_from_detection({"sel": {"destination.ip|cidr": "::/0"}, "condition": "sel"})
    assert [matches(ip_rule, e) for e in ips(":::", "fe80::1%", "::")] == [False, False, True]
    kw_rule = rule_from_detection({"kw": {"|cased": "XMRig"}, "condition": "kw"})
    assert [matches(kw_rule, e) for e in names("xmrig", "XMRig")] == [False, True]
