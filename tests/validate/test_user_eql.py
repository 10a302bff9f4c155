"""A user's EQL over emulated ECS events: what it catches, its errors, and every listed
difference between eql's Python engine and Elasticsearch, each shown on an event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from imagehunt.errors import RuleError
from imagehunt.validate.seed_data import elastic_seed
from imagehunt.validate.user_eql import (
    ELASTICSEARCH_SYNTAX,
    ENGINE_DIFFERENCES,
    EQL_SYNTAX,
    run_user_eql,
)

T0 = "2026-11-21T08:00:00Z"


def process(
    name: str, *, args: list[str] | None = None, at: str = T0, **extra: Any
) -> dict[str, Any]:
    """Elastic Defend process start, nested."""
    doc: dict[str, Any] = {
        "@timestamp": at,
        "event": {"category": ["process"], "type": ["start"], "action": "exec"},
        "host": {"name": "h1"},
        "process": {"name": name, "args": args or [name], "entity_id": f"h1-{name}"},
    }
    doc.update(extra)
    return doc


def connection(ip: str, port: Any, *, at: str = T0, **extra: Any) -> dict[str, Any]:
    """Network connection, dotted keys (as some shippers write them)."""
    doc: dict[str, Any] = {
        "@timestamp": at,
        "event.category": ["network"],
        "event.type": ["start"],
        "event.action": "connection_attempted",
        "host.name": "h1",
        "process.name": "xmrig",
        "destination.ip": ip,
        "destination.port": port,
    }
    doc.update(extra)
    return doc


def caught(query: str, *docs: dict[str, Any]) -> bool:
    """The query matches the single test made of ``docs``."""
    return run_user_eql(query, {"t": list(docs)}).result("t").matched


TESTS = {
    "1": [process("bash"), process("xmrig", args=["./xmrig", "-o", "pool.example.com:3333"])],
    "2": [connection("45.9.148.21", 3333)],
    "3": [process("wget", args=["wget", "-q", "http://127.0.0.1:3333/"])],
}


# ---- running ---------------------------------------------------------------------------------
def test_query_that_catches_reports_the_test_and_event() -> None:
    report = run_user_eql('process where process.name == "xmrig"', TESTS, source="mine.eql")
    assert report.syntax == ELASTICSEARCH_SYNTAX
    assert report.caught == ("1",)
    assert report.result("1").hits == ((1,),)
    assert report.result("1").event_indexes == (1,)
    assert [r.test_id for r in report.results] == ["1", "2", "3"]
    assert report.differences == ENGINE_DIFFERENCES
    assert report.notes == ()


def test_query_that_catches_nothing() -> None:
    report = run_user_eql('process where process.name : "minerd"', TESTS)
    assert report.caught == ()
    assert not any(r.matched for r in report.results)


def test_dotted_and_nested_documents_read_alike() -> None:
    report = run_user_eql(
        'any where host.name == "h1" and destination.port == 3333 and event.type == "start"', TESTS
    )
    assert report.caught == ("2",)


def test_sequence_across_two_events() -> None:
    query = (
        "sequence by host.name with maxspan=1m\n"
        '  [process where process.name == "xmrig"]\n'
        "  [network where destination.port == 3333]"
    )
    start = process("xmrig")
    late = connection("45.9.148.21", 3333, at="2026-11-21T08:05:00Z")
    soon = connection("45.9.148.21", 3333, at="2026-11-21T08:00:30.250Z")
    report = run_user_eql(query, {"soon": [soon, start], "late": [start, late]})
    assert report.result("soon").hits == ((1, 0),)  # time order, not input order
    assert not report.result("late").matched  # outside maxspan


def test_syntax_error_names_file_line_and_column() -> None:
    query = 'process where\n  process.name == "xmrig" nor true'
    with pytest.raises(RuleError) as error:
        run_user_eql(query, TESTS, source="rules/mine.eql")
    assert (error.value.file, error.value.line) == ("rules/mine.eql", 2)
    assert "column 27" in error.value.message
    assert error.value.message.endswith('  process.name == "xmrig" nor true\n' + " " * 26 + "^^^")


def test_the_seed_query_fails_at_its_nor_line() -> None:
    with pytest.raises(RuleError) as error:
        run_user_eql(elastic_seed().query, TESTS, source="seed.eql")
    assert error.value.line == 10


def test_query_parsing_only_in_eql_syntax_says_so() -> None:
    report = run_user_eql("process where process.name == 'xmrig'", TESTS)
    assert report.syntax == EQL_SYNTAX
    assert report.caught == ("1",)
    assert "only in eql's own syntax" in report.notes[0]


# ---- every listed engine difference, demonstrated ------------------------------------------
def case_of_equality_and_in() -> None:
    xmrig = process("xmrig")
    assert caught('process where process.name == "XMRIG"', xmrig)
    assert caught('process where process.name in ("XMRig")', xmrig)
    assert not caught('process where process.name != "XMRIG"', xmrig)


def case_of_like_regex_functions() -> None:
    xmrig = process("xmrig")
    assert caught('process where process.name like "XM*"', xmrig)
    assert caught('process where process.name regex "XM.*"', xmrig)
    assert caught('process where startsWith(process.name, "XM")', xmrig)
    assert caught('process where stringContains(process.name, "MRI")', xmrig)


def question_mark_wildcard() -> None:
    xmrig = process("xmrig")
    assert caught('process where process.name : "x*rig"', xmrig)  # control
    assert not caught('process where process.name : "x?rig"', xmrig)


def array_fields() -> None:
    query = 'process where process.args == "-o"'
    assert not caught(query, process("xmrig", args=["./xmrig", "-o", "pool:3333"]))
    assert caught(query, process("xmrig", args=["-o"]))  # one value: unwrapped
    assert not caught('process where process.args : "-o"', process("x", args=["x", "-o"]))


def event_type_from_first_category() -> None:
    doc = process("xmrig", event={"category": ["network", "process"], "type": ["start"]})
    assert not caught('process where process.name == "xmrig"', doc)
    assert caught('network where process.name == "xmrig"', doc)


def missing_field_under_not() -> None:
    lookup = {"@timestamp": T0, "event": {"category": ["network"]}, "dns": {"question": {}}}
    assert not caught('network where not process.name in ("chrome.exe")', lookup)
    assert caught('network where not process.name in ("chrome.exe")', connection("1.2.3.4", 1))


def numbers_as_text() -> None:
    assert not caught("network where destination.port == 3333", connection("1.2.3.4", "3333"))
    assert caught("network where destination.port == 3333", connection("1.2.3.4", 3333))


def colon_on_addresses() -> None:
    private = connection("10.20.30.40", 3333)
    assert not caught('network where destination.ip : "10.0.0.0/8"', private)
    assert caught('network where destination.ip : "10.0.0.0/8"', connection("10.0.0.0/8", 1))
    assert caught('network where destination.ip : "10.*"', private)
    assert caught('network where cidrMatch(destination.ip, "10.0.0.0/8")', private)


def maxspan_truncated_to_seconds() -> None:
    start = process("xmrig")
    then = connection("45.9.148.21", 3333, at="2026-11-21T08:00:00.300Z")
    steps = "[process where true] [network where true]"
    assert not caught(f"sequence with maxspan=500ms {steps}", start, then)
    assert caught(f"sequence with maxspan=1s {steps}", start, then)


def one_step_sequence() -> None:
    with pytest.raises(RuleError, match="two or more steps") as error:
        run_user_eql("\nsequence by host.name\n  [process where true]", {"t": [process("x")]})
    assert error.value.line == 2


def features_elasticsearch_lacks() -> None:
    report = run_user_eql(
        'process where not arrayContains(process.args, "-o") | unique process.name',
        {"t": [process("xmrig", args=["x", "y"])]},
    )
    assert report.caught == ("t",)
    assert report.notes == (
        "the `unique` pipe is not supported by Elasticsearch",
        "the function arrayContains is not supported by Elasticsearch",
    )
    lineage = run_user_eql("process where descendant of [process where true]", {"t": []})
    assert lineage.notes == ("`descendant of` is not supported by Elasticsearch",)


def equal_timestamps_keep_input_order() -> None:
    query = "sequence [process where true] [network where true]"
    start, conn = process("xmrig"), connection("45.9.148.21", 3333)
    assert caught(query, start, conn)
    assert not caught(query, conn, start)


# a phrase found in exactly one ENGINE_DIFFERENCES entry -> the demonstration of that entry
DEMONSTRATIONS: dict[str, Callable[[], None]] = {
    "`==`, `!=` and `in` ignore case": case_of_equality_and_in,
    "`like`, `regex` and string functions": case_of_like_regex_functions,
    "`?` is not a wildcard": question_mark_wildcard,
    "two or more values": array_fields,
    "first event.category value": event_type_from_first_category,
    "missing field is null": missing_field_under_not,
    "Numbers written as text": numbers_as_text,
    "`:` on an address": colon_on_addresses,
    "truncates `maxspan`": maxspan_truncated_to_seconds,
    "one-step `sequence`": one_step_sequence,
    "accepts what Elasticsearch lacks": features_elasticsearch_lacks,
    "equal @timestamp keep their input order": equal_timestamps_keep_input_order,
}


def test_every_listed_difference_has_a_demonstration() -> None:
    for phrase in DEMONSTRATIONS:
        assert sum(phrase in entry for entry in ENGINE_DIFFERENCES) == 1, phrase
    assert len(DEMONSTRATIONS) == len(ENGINE_DIFFERENCES)


@pytest.mark.parametrize("phrase", list(DEMONSTRATIONS))
def test_engine_difference(phrase: str) -> None:
    DEMONSTRATIONS[phrase]()
