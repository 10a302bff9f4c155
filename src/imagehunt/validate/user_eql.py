"""Run a user's own EQL query over each atomic test's emulated ECS events (``validate --eql``).

The query is parsed with Elastic's ``eql`` package in Elasticsearch syntax (falling back to
eql's own syntax, which the report then says) and run with eql's Python engine, one fresh
engine per test. The engine is not Elasticsearch: :data:`ENGINE_DIFFERENCES` lists the known
differences that matter here (each one is demonstrated by tests/validate/test_user_eql.py).

What the runner does to the events, as Elasticsearch would at index time:

* dotted keys (``"process.name": ...``) become nested objects, as Elasticsearch expands them;
* a one-value array becomes its value: Elasticsearch indexes ``["start"]`` exactly like
  ``"start"``, while eql's engine would compare the whole list;
* the event type eql dispatches ``process where`` on is the first ``event.category`` value
  (Elasticsearch's default event category field);
* events are fed in ``@timestamp`` order (ties keep their input order), the time eql's
  ``maxspan`` counts in milliseconds.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import eql  # type: ignore[import-untyped]

from imagehunt.errors import RuleError

ELASTICSEARCH_SYNTAX = "elasticsearch"
EQL_SYNTAX = "eql"

ENGINE_DIFFERENCES: tuple[str, ...] = (
    "`==`, `!=` and `in` ignore case in eql's engine; Elasticsearch compares case-sensitively "
    "(use `:` or `in~` there for case-insensitive matching).",
    "`like`, `regex` and string functions (startsWith, endsWith, stringContains) ignore case "
    "in eql's engine; in Elasticsearch they are case-sensitive unless written `like~`, "
    "`regex~`, `startsWith~` ...",
    "`?` is not a wildcard in eql's engine (`:` and `like` know only `*`); in Elasticsearch "
    "`?` matches exactly one character.",
    "An array field with two or more values never equals, is `in` or `:`-matches a string in "
    "eql's engine (it compares the whole list); Elasticsearch matches when any value does. "
    "(One-value arrays are unwrapped here, as Elasticsearch indexes them like a single value.)",
    "eql's engine gives each event one type, here the first event.category value, so an "
    'event categorized ["network", "process"] is not a `process where` event; '
    "Elasticsearch matches any of the values.",
    "A condition on a missing field is null in eql's engine and `not` keeps it null, so "
    "`not process.name in (...)` does not match an event without process.name; Elasticsearch "
    "runs `not` as a must_not query, which matches it.",
    'Numbers written as text (destination.port "3333") stay text in eql\'s engine and do not '
    "equal 3333; Elasticsearch's numeric mapping indexes them as numbers.",
    '`:` on an address is a string wildcard match in eql\'s engine: "10.0.0.0/8" matches only '
    '"10.0.0.0/8", "10.*" matches 10.1.2.3 (cidrMatch tests ranges). imagehunt\'s seed baseline '
    "reads Elasticsearch the same way (E11), but there destination.ip is an `ip` field and `:` "
    "is documented for strings only: confirm such a query in Elasticsearch itself.",
    "eql's engine truncates `maxspan` to whole seconds (maxspan=500ms becomes 0s, so events "
    "300 ms apart no longer form a sequence); Elasticsearch keeps milliseconds.",
    "A one-step `sequence` parses in eql's Elasticsearch mode, but Elasticsearch rejects it "
    "(a sequence needs two or more steps) and eql's engine cannot run it: reported as an error.",
    "eql's Elasticsearch mode accepts what Elasticsearch lacks: `join`, `descendant of` / "
    "`child of` / `event of`, pipes other than head and tail (count, unique, filter, sort, "
    "unique_count), arrayContains / arrayCount / arraySearch; the report notes them.",
    "Events with equal @timestamp keep their input order here; Elasticsearch orders them by its "
    "tiebreaker field, if one is set, so a sequence over same-time events may differ.",
)

_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")  # nanoseconds: Python reads microseconds
_ES_PIPES = frozenset({"head", "tail"})
_ES_MISSING_FUNCTIONS = frozenset({"arrayContains", "arrayCount", "arraySearch"})


@dataclass(frozen=True)
class AtomicTestResult:
    """Whether the query caught one atomic test, and with which of its events.

    ``hits`` holds one tuple per match (a single event, or a sequence's events in order) of
    0-based indexes into the test's list of ECS documents.
    """

    test_id: str
    hits: tuple[tuple[int, ...], ...]

    @property
    def matched(self) -> bool:
        return bool(self.hits)

    @property
    def event_indexes(self) -> tuple[int, ...]:
        """Every event index that took part in a match, ascending."""
        return tuple(sorted({index for hit in self.hits for index in hit}))


@dataclass(frozen=True)
class UserEqlReport:
    """Outcome of a user's EQL query over the emulated events of every atomic test."""

    source: str
    query: str
    syntax: str  # ELASTICSEARCH_SYNTAX, or EQL_SYNTAX when it parses only in eql's own syntax
    notes: tuple[str, ...]
    results: tuple[AtomicTestResult, ...]
    differences: tuple[str, ...] = ENGINE_DIFFERENCES

    @property
    def caught(self) -> tuple[str, ...]:
        """Ids of the tests the query matched, in input order."""
        return tuple(r.test_id for r in self.results if r.matched)

    def result(self, test_id: str) -> AtomicTestResult:
        """The result of one test (KeyError if it was not run)."""
        for result in self.results:
            if result.test_id == test_id:
                return result
        raise KeyError(test_id)


# ---- parsing ---------------------------------------------------------------------------------
def _parse_error(exc: Exception, query: str, source: str) -> RuleError:
    hint = "the query must parse in Elasticsearch's EQL syntax"
    if isinstance(exc, eql.EqlParseError):
        lines = query.splitlines()
        text = lines[exc.line] if 0 <= exc.line < len(lines) else ""
        caret = " " * exc.column + "^" * max(1, exc.caret.count("^"))
        message = (
            f"EQL query does not parse (column {exc.column + 1}): {exc.error_msg}\n{text}\n{caret}"
        )
        return RuleError(message, file=source, line=exc.line + 1, hint=hint)
    return RuleError(f"EQL query cannot be used: {exc}", file=source, hint=hint)


def _parse(query: str, source: str) -> tuple[Any, str, list[str]]:
    """Parsed query, the syntax it parsed in, and notes about that."""
    try:
        with eql.parser.elasticsearch_syntax:
            return eql.parse_query(query), ELASTICSEARCH_SYNTAX, []
    except eql.EqlError as es_error:
        try:
            parsed = eql.parse_query(query)
        except eql.EqlError:
            raise _parse_error(es_error, query, source) from es_error
        first_line = str(es_error).splitlines()
        detail = " ".join(first_line[:2]) if first_line else str(es_error)
        note = (
            "the query parses only in eql's own syntax, not in Elasticsearch's "
            f"({detail}); it was run with eql's semantics"
        )
        return parsed, EQL_SYNTAX, [note]


def _walk(node: Any) -> Iterator[Any]:
    """The node and every AST node below it."""
    if isinstance(node, eql.ast.BaseNode):
        yield node
        for _, value in node.iter_slots():
            yield from _walk(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _walk(item)


def _elasticsearch_gaps(parsed: Any) -> list[str]:
    """What the parsed query uses that Elasticsearch does not support."""
    notes: list[str] = []
    if isinstance(parsed.first, eql.ast.Join):
        notes.append("`join` is not supported by Elasticsearch")
    for pipe in parsed.pipes:
        if pipe.name not in _ES_PIPES:
            notes.append(f"the `{pipe.name}` pipe is not supported by Elasticsearch")
    for node in _walk(parsed):
        if isinstance(node, eql.ast.NamedSubquery):
            notes.append(f"`{node.query_type} of` is not supported by Elasticsearch")
        elif isinstance(node, eql.ast.FunctionCall) and node.name in _ES_MISSING_FUNCTIONS:
            notes.append(f"the function {node.name} is not supported by Elasticsearch")
    return list(dict.fromkeys(notes))


def _line_of(query: str, word: str) -> int:
    lines = query.splitlines()
    return next((n for n, line in enumerate(lines, start=1) if word in line), 1)


# ---- events ----------------------------------------------------------------------------------
def _unwrap(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_unwrap(item) for item in value]
        return items[0] if len(items) == 1 else items
    return value


def _nest(doc: Mapping[str, Any]) -> dict[str, Any]:
    """ECS document with dotted keys expanded into nested objects (as Elasticsearch does)."""
    nested: dict[str, Any] = {}
    for key, value in doc.items():
        item = _nest(value) if isinstance(value, Mapping) else copy.deepcopy(value)
        parts = key.split(".") if key != "@timestamp" else [key]
        node = nested
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        last = parts[-1]
        if isinstance(item, dict) and isinstance(node.get(last), dict):
            node[last].update(item)
        else:
            node.setdefault(last, item)
    return nested


def _event_type(data: Mapping[str, Any]) -> str:
    event = data.get("event")
    category = event.get("category") if isinstance(event, Mapping) else None
    if isinstance(category, list):
        category = category[0] if category else None
    return category if isinstance(category, str) and category else eql.schema.EVENT_TYPE_GENERIC


def _timestamp_ms(value: Any) -> int:
    """Epoch milliseconds of an ECS @timestamp (ISO 8601 text or epoch ms); 0 when absent."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", value))
        except ValueError:
            return 0
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return 0


def _engine_events(docs: Sequence[Mapping[str, Any]]) -> tuple[list[Any], dict[int, int]]:
    """eql events in time order, and the id of each event's data -> its index in ``docs``."""
    events: list[tuple[int, int, Any]] = []
    for index, doc in enumerate(docs):
        data = _unwrap(_nest(doc))
        time = _timestamp_ms(data.get("@timestamp"))
        events.append((time, index, eql.Event(_event_type(data), time, data)))
    events.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in events], {id(e.data): i for _, i, e in events}


# ---- running ---------------------------------------------------------------------------------
def _run_one(
    parsed: Any, test_id: str, docs: Sequence[Mapping[str, Any]], source: str
) -> AtomicTestResult:
    events, index_of = _engine_events(docs)
    engine = eql.PythonEngine({"time_unit": 1000})
    hits: list[tuple[int, ...]] = []

    def collect(output: Any) -> None:
        found = (index_of.get(id(event.data)) for event in output.events)
        hits.append(tuple(index for index in found if index is not None))

    engine.add_output_hook(collect)
    try:
        engine.add_query(parsed)
        engine.stream_events(events)
    except Exception as exc:  # eql's engine raises plain Python errors on odd data
        raise RuleError(
            f"eql's engine failed on the events of test {test_id}: {exc!r}", file=source
        ) from exc
    return AtomicTestResult(test_id, tuple(hits))


def run_user_eql(
    query: str,
    events: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    source: str = "<query>",
) -> UserEqlReport:
    """Run ``query`` over each test's ECS documents and say which tests it catches.

    ``events`` maps a test id to that test's ECS documents (nested or dotted, with
    ``@timestamp``). ``source`` names the query file in errors. Raises RuleError with the
    query's line and column when it does not parse, or when it is a one-step sequence.
    """
    parsed, syntax, notes = _parse(query, source)
    first = parsed.first
    if isinstance(first, eql.ast.Sequence) and len(first.queries) < 2:
        raise RuleError(
            "a sequence needs two or more steps: Elasticsearch rejects a one-step sequence "
            "and eql's engine cannot run it",
            file=source,
            line=_line_of(query, "sequence"),
            hint="write the step as a plain `<category> where ...` query",
        )
    notes.extend(_elasticsearch_gaps(parsed))
    results = tuple(_run_one(parsed, test_id, docs, source) for test_id, docs in events.items())
    return UserEqlReport(
        source=source, query=query, syntax=syntax, notes=tuple(notes), results=results
    )
