"""Windows EVTX event logs (binary), read with the ``evtx`` package, record by record.

Records of the Sysmon channel (``Microsoft-Windows-Sysmon/Operational``) are mapped by
``sysmon_fields``; records of any other channel become rows with their EventID, record id,
host and time only. ``_line`` is the EVTX record number (the record header's id), not a text
line. A corrupt record is counted with its number and the next one is read. A file cut inside
a chunk (a copy taken while the log was written, an interrupted transfer) is read up to the
cut and reported: the parser itself stops there silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa
from evtx import PyEvtxParser

from imagehunt.errors import ImagehuntError
from imagehunt.sources.base import Head
from imagehunt.sources.files import is_gzip, open_binary
from imagehunt.sources.normalize import to_integer
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row
from imagehunt.sources.sysmon_fields import (
    WINDOWS,
    SystemFacts,
    event_id_text,
    record_or_sysmon_values,
    text_of,
)

FORMAT = "evtx"

MAGIC = b"ElfFile\x00"
MAX_ERRORS_IN_A_ROW = 10_000  # a file that is nothing but errors is given up
_RECORD_NUMBER = re.compile(r"record (?:number )?(\d+)", re.IGNORECASE)
HEADER_BYTES = 4096  # the file header block
CHUNK_BYTES = 65536  # every chunk of records has this size


def truncation(size: int) -> str | None:
    """Why an EVTX file of ``size`` bytes is cut short (None when it ends on a chunk)."""
    if size <= HEADER_BYTES:
        return None  # nothing but the header: the parser reports it, or there is no record
    tail = (size - HEADER_BYTES) % CHUNK_BYTES
    if tail == 0:
        return None
    chunk = (size - HEADER_BYTES) // CHUNK_BYTES + 1
    return (
        f"file ends {tail} bytes into chunk {chunk} (of {CHUNK_BYTES}): "
        "the records from there on are lost"
    )


def sniff(head: Head) -> bool:
    """An EVTX file header."""
    return head.data.startswith(MAGIC)


def _attributes(node: Any) -> dict[str, Any]:
    """The ``#attributes`` object of an element in the evtx JSON, or an empty dict."""
    if isinstance(node, dict):
        found = node.get("#attributes")
        if isinstance(found, dict):
            return found
    return {}


def system_facts(system: dict[str, Any]) -> SystemFacts:
    """``SystemFacts`` of the ``System`` element of an evtx JSON record."""
    return SystemFacts(
        event_id=event_id_text(system.get("EventID")),
        computer=text_of(system.get("Computer")),
        record_id=text_of(system.get("EventRecordID")),
        time_created=_attributes(system.get("TimeCreated")).get("SystemTime"),
        channel=text_of(system.get("Channel")),
        provider=text_of(_attributes(system.get("Provider")).get("Name")),
    )


def record_values(data_json: str) -> dict[str, Any]:
    """Schema values of one record's JSON (ValueError when it is not an event)."""
    try:
        doc = orjson.loads(data_json)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"record is not valid JSON: {exc}") from exc
    event = doc.get("Event") if isinstance(doc, dict) else None
    system = event.get("System") if isinstance(event, dict) else None
    if not isinstance(event, dict) or not isinstance(system, dict):
        raise ValueError("record without Event/System")
    event_data = event.get("EventData")
    data = event_data if isinstance(event_data, dict) else None
    return record_or_sysmon_values(system_facts(system), data, WINDOWS)


def _record_number(message: str, previous: int) -> int:
    """Record number named in an evtx error message, else the one after ``previous``."""
    match = _RECORD_NUMBER.search(message)
    return int(match.group(1)) if match else previous + 1


def _parser(path: Path, handle: IO[bytes] | None) -> PyEvtxParser:
    try:
        return PyEvtxParser(handle if handle is not None else str(path))
    except (RuntimeError, OSError, ValueError) as exc:
        raise ImagehuntError(f"not a readable EVTX file: {exc}", file=path) from exc


def _records(
    parser: PyEvtxParser,
    display: str,
    problems: ReadProblems,
    size: Callable[[], int | None],
) -> Iterator[dict[str, Any]]:
    records = parser.records_json()
    previous, errors_in_a_row = 0, 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except RuntimeError as exc:
            previous = _record_number(str(exc), previous)
            problems.add(previous, f"corrupt EVTX record: {str(exc)[:300]}")
            errors_in_a_row += 1
            if errors_in_a_row >= MAX_ERRORS_IN_A_ROW:
                raise ImagehuntError(f"{errors_in_a_row} corrupt records in a row") from exc
            continue
        errors_in_a_row = 0
        if not isinstance(record, dict):
            previous += 1
            problems.add(previous, "EVTX record the parser gave no data for")
            continue
        previous = to_integer(record.get("event_record_id")) or previous + 1
        try:
            values = record_values(str(record.get("data", "")))
        except ValueError as exc:
            problems.add(previous, str(exc))
            continue
        yield make_row(values, display, previous, FORMAT)
    total = size()  # asked after the parser is done: for gzip that costs no extra pass
    cut = truncation(total) if total is not None else None
    if cut is not None:
        problems.add(previous + 1, cut)


def _rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    if not is_gzip(path):
        yield from _records(_parser(path, None), display, problems, lambda: path.stat().st_size)
        return
    with open_binary(path) as handle:

        def unpacked() -> int | None:
            try:
                return handle.seek(0, 2)  # the decompressed size
            except (EOFError, OSError):
                return None  # the gzip stream itself is cut: reading reports that

        yield from _records(_parser(path, handle), display, problems, unpacked)


def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized batches of every EVTX record; corrupt records go to ``problems``."""
    return batches(_rows(path, display, problems))
