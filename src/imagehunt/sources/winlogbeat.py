"""winlogbeat JSON: Windows event log records as winlogbeat ships them (``winlog.*``).

One document per line (winlogbeat's file output, or an export from Elasticsearch), with or
without the ECS fields that winlogbeat's ``sysmon`` module adds. Pretty-printed documents,
JSON arrays of documents and Elastic's ``{"events": [...]}`` test wrapper are read too, each
event numbered with the line of its opening brace. Sysmon records
(``Microsoft-Windows-Sysmon/Operational``) are mapped by ``sysmon_fields``; records of other
channels keep their code, host and time. ECS fields present in the document win.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from imagehunt.sources.base import Head
from imagehunt.sources.files import MAX_LINE_BYTES, numbered_lines, open_binary
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row
from imagehunt.sources.sysmon_fields import is_linux_channel, winlog_part, winlog_values

FORMAT = "winlogbeat"

MAX_DOCUMENT_BYTES = 8 * MAX_LINE_BYTES  # a pretty-printed document spans many lines
_OPENERS = (b"{", b"[")
_CHANNEL_IN_TEXT = re.compile(rb'"channel"\s*:\s*"([^"\\]*)"')


# ---- JSON documents, one per line or pretty-printed -------------------------------------------
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]]')
_EVENTS_KEY = b'"events"'
_CLOSER = {ord("}"): ord("{"), ord("]"): ord("[")}


@dataclass
class _Pending:
    """A JSON document spread over several lines, collected until its brackets balance."""

    start: int
    parts: list[bytes] | None = field(default_factory=list)  # None once it is too long
    size: int = 0
    stack: list[int] = field(default_factory=list)
    last_key: bytes = b""
    array_key: bytes = b""
    element_lines: list[int] = field(default_factory=list)
    broken: str | None = None

    def feed(self, number: int, line: bytes) -> None:
        """Add one line: track brackets outside strings and where array elements start."""
        self.size += len(line) + 1
        if self.parts is not None:
            if self.size > MAX_DOCUMENT_BYTES:
                self.parts = None
            else:
                self.parts.append(line)
        for match in _TOKENS.finditer(line):
            token = match.group()
            first = token[0]
            if first == ord('"'):
                if len(self.stack) == 1:
                    self.last_key = token
            elif first in (ord("{"), ord("[")):
                self._open(number, first)
            elif not self.stack or self.stack.pop() != _CLOSER[first]:
                self.broken = "unbalanced brackets"
                return
            if not self.stack:
                return

    def _open(self, number: int, bracket: int) -> None:
        if bracket == ord("{") and self._is_element_start():
            self.element_lines.append(number)
        if bracket == ord("[") and len(self.stack) == 1:
            self.array_key = self.last_key
        self.stack.append(bracket)

    def _is_element_start(self) -> bool:
        if self.stack == [ord("[")]:
            return True
        return self.stack == [ord("{"), ord("[")] and self.array_key == _EVENTS_KEY

    @property
    def closed(self) -> bool:
        return not self.stack


def _events(doc: Any) -> list[Any] | None:
    """Elements of a JSON array, or of the ``events`` list of Elastic's test wrapper."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and "winlog" not in doc and isinstance(doc.get("events"), list):
        events: list[Any] = doc["events"]
        return events
    return None


def _documents(
    doc: Any, lines: list[int], start: int, problems: ReadProblems
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, object) for a parsed document, unwrapping arrays and ``{"events": [...]}``."""
    events = _events(doc)
    if events is None:
        if isinstance(doc, dict):
            yield start, doc
        else:
            problems.add(start, f"expected a JSON object, got {type(doc).__name__}")
        return
    numbers = lines if len(lines) == len(events) else [start] * len(events)
    for number, event in zip(numbers, events, strict=True):
        if isinstance(event, dict):
            yield number, event
        else:
            problems.add(number, f"expected a JSON object, got {type(event).__name__}")


def _finish(pending: _Pending, problems: ReadProblems) -> Iterator[tuple[int, dict[str, Any]]]:
    if pending.parts is None:
        problems.add(pending.start, f"JSON document longer than {MAX_DOCUMENT_BYTES} bytes")
        return
    try:
        doc = orjson.loads(b"\n".join(pending.parts))
    except orjson.JSONDecodeError as exc:
        problems.add(pending.start, f"invalid JSON document: {exc}")
        return
    yield from _documents(doc, pending.element_lines, pending.start, problems)


def _one_line(
    number: int, text: bytes, problems: ReadProblems
) -> tuple[list[tuple[int, dict[str, Any]]], _Pending | None]:
    """A line that starts with ``{``/``[``: its documents, or the start of a multi-line one."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if text.endswith(_OPENERS):
            pending = _Pending(start=number)
            pending.feed(number, text)
            return [], pending
        problems.add(number, f"invalid JSON: {exc}")
        return [], None
    return list(_documents(doc, [], number, problems)), None


def json_records(
    lines: Iterable[tuple[int, bytes]], problems: ReadProblems
) -> Iterator[tuple[int, dict[str, Any] | bytes]]:
    """(line, JSON object) for every document; (line, text) for every other non-blank line.

    A line that starts with ``{`` or ``[`` is a JSON document; when it does not parse and
    ends with an opening bracket, the document goes on over the next lines until its brackets
    balance (pretty-printed output), or until an unindented line opens the next document.
    Malformed documents go to ``problems``.
    """
    pending: _Pending | None = None
    for number, raw in lines:
        if len(raw) > MAX_LINE_BYTES:
            problems.add(number, f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        if pending is not None and raw.startswith(_OPENERS):
            # an unindented opening bracket starts a new top-level document: the pending
            # one was cut short (a truncated NDJSON line that happened to end with "{")
            problems.add(pending.start, "JSON document not closed before the next one")
            pending = None
        if pending is not None:
            pending.feed(number, raw)
            if pending.broken is not None:
                problems.add(pending.start, f"invalid JSON document: {pending.broken}")
                pending = None
            elif pending.closed:
                yield from _finish(pending, problems)
                pending = None
            continue
        text = raw.strip()
        if not text:
            continue
        if not text.startswith(_OPENERS):
            yield number, text
            continue
        found, pending = _one_line(number, text, problems)
        yield from found
    if pending is not None:
        problems.add(pending.start, "JSON document not closed before the end of the file")


# ---- sniffing ---------------------------------------------------------------------------------
def head_channel(head: Head) -> str | None:
    """``winlog.channel`` of the first document: from the first JSON line, else from the text
    of a pretty-printed document."""
    data = head.data.lstrip()
    if not data.startswith(_OPENERS) or b"winlog" not in data:
        return None
    doc = head.first_json
    if doc is not None:
        events = _events(doc)
        if events and isinstance(events[0], dict):
            doc = events[0]
        part = winlog_part(doc)
        channel = part.get("channel") if part is not None else None
        return channel if isinstance(channel, str) else None
    match = _CHANNEL_IN_TEXT.search(data)
    return match.group(1).decode("utf-8", "replace") if match else None


def sniff(head: Head) -> bool:
    """JSON whose first document has a ``winlog`` object with a Windows channel."""
    channel = head_channel(head)
    return bool(channel) and not is_linux_channel(channel)


# ---- reading ----------------------------------------------------------------------------------
def _rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    with open_binary(path) as handle:
        for number, record in json_records(numbered_lines(handle), problems):
            if isinstance(record, bytes):
                problems.add(number, "not a JSON document")
                continue
            values = winlog_values(record)
            if values is None:
                problems.add(number, "JSON object without a winlog object")
                continue
            yield make_row(values, display, number, FORMAT)


def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized batches of every winlogbeat document; malformed ones go to ``problems``."""
    return batches(_rows(path, display, problems))
