"""Linux auditd raw logs (``/var/log/audit/audit.log``), raw or enriched, with or without ``node=``.

Each line is one record: ``[node=HOST ]type=TYPE msg=audit(EPOCH.MILLIS:SERIAL): k=v ...``.
Records with the same ``msg=audit(...)`` id form one event; events may interleave, so they
are buffered by id (bounded) until their EOE record, until they are too old, or until the
end of the file. See ``auditd_events`` for what becomes a row.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from imagehunt.sources.auditd_events import KEPT_TYPES, Event, EventMapper
from imagehunt.sources.base import Head
from imagehunt.sources.files import MAX_LINE_BYTES, open_binary
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row

FORMAT = "auditd"

MAX_WAIT_LINES = 4096  # an event still open this many lines after its first record is flushed
MAX_PENDING = 8192  # at most this many open events at once
MAX_EVENT_BYTES = 16 * 1024 * 1024  # records of one event kept (a 2 MiB argv is ~4 MiB hex)
MAX_HELD_BYTES = 256 * 1024 * 1024  # records of all open events kept
CHECK_EVERY = 64  # lines between two looks at the oldest open event
BLOCK_BYTES = 1 << 20

# bounded repeats: a hostile line of "type=type=..." must not make search() quadratic
_HEADER = re.compile(
    rb"(?:node=(\S{0,255}) )?type=(\S{1,64}) msg=audit\((\d{1,18}\.\d{1,9}:\d{1,20})\): ?"
)
_SNIFF = re.compile(rb"^(?:node=\S{0,255} )?type=\S{1,64} msg=audit\(\d{1,18}\.\d{1,9}:\d{1,20}\)")
_EOE = b"EOE"


def sniff(head: Head) -> bool:
    """True when the first non-blank lines are auditd records (most of the first ten)."""
    lines = head.lines[:10]
    if not lines or not _SNIFF.match(lines[0]):
        return False
    return sum(1 for line in lines if _SNIFF.match(line)) * 2 > len(lines)


def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized batches: process starts (execve) and connections (connect) of the file."""
    with open_binary(path) as handle:
        yield from batches(_rows(handle, display, problems))


def _rows(handle: IO[bytes], display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    mapper = EventMapper()
    for event in assemble(line_blocks(handle, problems), problems):
        values = mapper.row(event)
        if values is not None:
            yield make_row(values, display, event.line, FORMAT)


def line_blocks(handle: IO[bytes], problems: ReadProblems) -> Iterator[tuple[int, list[bytes]]]:
    """(1-based number of the first line, lines) per block read; CR/LF endings removed.

    Reads fixed blocks, so an endless line never sits in memory whole; a line longer than
    ``MAX_LINE_BYTES`` is counted as a problem and given as an empty line.
    """
    read_some: Callable[[int], bytes] = getattr(handle, "read1", handle.read)
    number = 1
    carry = b""
    too_long = False
    while True:
        block = read_some(BLOCK_BYTES)  # read1: a truncated .gz loses no complete line
        if not block:
            break
        lines = block.split(b"\n")
        lines[0] = carry + lines[0]
        if b"\r" in block or carry.endswith(b"\r"):
            lines = [line.rstrip(b"\r") for line in lines]
        carry = lines.pop()
        if lines and (too_long or max(map(len, lines)) > MAX_LINE_BYTES):
            _blank_long_lines(lines, number, too_long, problems)
            too_long = False
        yield number, lines
        number += len(lines)
        if len(carry) > MAX_LINE_BYTES:
            too_long = True
            carry = b""
    carry = carry.rstrip(b"\r")
    if too_long:
        problems.add(number, f"line longer than {MAX_LINE_BYTES} bytes")
    elif carry:
        yield number, [carry]


def _blank_long_lines(
    lines: list[bytes], first: int, too_long: bool, problems: ReadProblems
) -> None:
    for index, line in enumerate(lines):
        if len(line) > MAX_LINE_BYTES or (index == 0 and too_long):
            problems.add(first + index, f"line longer than {MAX_LINE_BYTES} bytes")
            lines[index] = b""


class _OpenEvents:
    """Events still open, by key and in first-line order, with the bytes they hold."""

    def __init__(self) -> None:
        self.by_key: dict[Any, Event] = {}
        self.order: deque[tuple[Any, Event]] = deque()  # O(1) pops from the front
        self.held = 0

    def released(self, before: int) -> Iterator[Event]:
        """Oldest events while they are complete, began before line ``before``, or while
        the open events hold more than ``MAX_HELD_BYTES``."""
        order = self.order
        while order:
            event = order[0][1]
            if not event.done and event.line >= before and self.held <= MAX_HELD_BYTES:
                return
            yield self.pop_oldest()

    def pop_oldest(self) -> Event:
        """Remove and return the open event with the earliest first line."""
        key, event = self.order.popleft()
        del self.by_key[key]
        self.held -= event.size
        return event


def assemble(blocks: Iterator[tuple[int, list[bytes]]], problems: ReadProblems) -> Iterator[Event]:
    """Events from records, grouped by ``node`` and ``msg=audit(...)`` id, in first-line order.

    An event is complete at its EOE record, when it has waited ``MAX_WAIT_LINES`` lines,
    when ``MAX_PENDING`` events are open, or at the end. Events are released in the order of
    their first line, so parents are always seen before their children. Memory is bounded:
    an event keeps at most ``MAX_EVENT_BYTES`` of records, all open events ``MAX_HELD_BYTES``.
    """
    window = _OpenEvents()
    try:
        for first, lines in blocks:
            yield from _assemble_block(first, lines, window, problems)
    except (OSError, EOFError):  # the file breaks off (truncated .gz): keep what was read
        yield from (event for _key, event in window.order)
        raise
    for _key, event in window.order:
        yield event


def _assemble_block(
    first: int, lines: list[bytes], window: _OpenEvents, problems: ReadProblems
) -> Iterator[Event]:
    """Add the records of one block of lines to the open events; release what is done."""
    pending, order = window.by_key, window.order
    match = _HEADER.match
    kept = KEPT_TYPES
    for number, raw in enumerate(lines, first):
        found = match(raw)
        if found is None:
            found = _unusual_header(number, raw, problems)
            if found is None:
                continue
            raw = found.string
        node, rtype, stamp = found.groups()
        key = stamp if node is None else (node, stamp)
        event = pending.get(key)
        if event is None:
            event = pending[key] = Event(number, node, stamp)
            order.append((key, event))
            if len(order) > MAX_PENDING:
                yield window.pop_oldest()
        if rtype in kept:
            body = raw[found.end() :]
            if event.size + len(body) > MAX_EVENT_BYTES:
                problems.add(
                    number, f"record dropped: its event holds over {MAX_EVENT_BYTES} bytes"
                )
                continue
            event.records.append((rtype, body))
            event.size += len(body)
            window.held += len(body)
            if window.held > MAX_HELD_BYTES:
                yield from window.released(number - MAX_WAIT_LINES)
        elif rtype == _EOE:
            event.done = True
            if order[0][1].done:
                yield from window.released(number - MAX_WAIT_LINES)
            continue
        if not number % CHECK_EVERY:
            yield from window.released(number - MAX_WAIT_LINES)


def _unusual_header(number: int, raw: bytes, problems: ReadProblems) -> re.Match[bytes] | None:
    """Header of a record behind a prefix (syslog forwarding), or None after counting why."""
    stripped = raw.strip()
    if not stripped:
        return None
    if b"type=" not in stripped:
        problems.add(number, "not an auditd record (no type=)")
    elif b"msg=audit(" not in stripped:
        problems.add(number, "auditd record without msg=audit(EPOCH:SERIAL)")
    elif (found := _HEADER.search(stripped)) is not None:
        return found
    else:
        problems.add(number, "auditd record with a malformed msg=audit(EPOCH:SERIAL) id")
    return None
