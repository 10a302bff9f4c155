"""AWS CloudTrail records, in every container they are delivered in.

* whole documents: ``{"Records": [...]}`` as CloudTrail writes to S3 (one line or
  pretty-printed), a JSON array of records (Stratus Red Team detonation logs, ``aws
  cloudtrail lookup-events`` post-processed by jq), or a single record object; read whole,
  up to ``MAX_DOCUMENT_BYTES``;
* lines: one record per line (NDJSON, also Logstash output with ``@timestamp``/``@version``),
  or one ``Records`` object or array per line; streamed, each line bounded.

A record may be wrapped: under ``json`` (Filebeat's JSON decoding), ``aws.cloudtrail`` (raw
keys), ``detail`` (EventBridge), or as text in ``event.original`` / ``message`` (Elastic with
``preserve_original_event``, raw Filebeat output). Documents of Elastic's CloudTrail data
stream without the raw record are read by ``cloudtrail_elastic``; an Elasticsearch hit
(``_source``) is unwrapped first. ``_line`` is the line of the record's opening brace (for a
record inside a one-line file, that line). Field mapping: ``cloudtrail_fields``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeGuard

import orjson
import pyarrow as pa

from imagehunt.errors import ImagehuntError
from imagehunt.sources import cloudtrail_layout as layout
from imagehunt.sources.base import Head
from imagehunt.sources.cloudtrail_elastic import elastic_values, is_elastic_cloudtrail
from imagehunt.sources.cloudtrail_fields import record_values
from imagehunt.sources.files import MAX_LINE_BYTES, bounded_lines, open_binary
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row

FORMAT = "cloudtrail"
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024  # whole-document files above this are refused
_BOM = b"\xef\xbb\xbf"


# ---- records --------------------------------------------------------------------------------
def is_record(doc: Any) -> TypeGuard[dict[str, Any]]:
    """A CloudTrail record: an object with text ``eventName`` and ``eventSource``."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("eventName"), str)
        and isinstance(doc.get("eventSource"), str)
    )


def _embedded_text(text: Any) -> Any:
    """A record serialized as text inside another document (``event.original``, ``message``)."""
    if not isinstance(text, str) or len(text) > MAX_LINE_BYTES or not text.lstrip().startswith("{"):
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _wrapped(doc: dict[str, Any]) -> Iterator[Any]:
    """Places where shippers put the raw record inside their own document."""
    yield doc.get("json")
    aws = doc.get("aws")
    if isinstance(aws, dict):
        yield aws.get("cloudtrail")
    yield doc.get("aws.cloudtrail")
    if "detail-type" in doc:
        yield doc.get("detail")
    event = doc.get("event")
    original = event.get("original") if isinstance(event, dict) else doc.get("event.original")
    yield _embedded_text(original)
    yield _embedded_text(doc.get("message"))


def as_record(doc: Any) -> dict[str, Any] | None:
    """The CloudTrail record ``doc`` is or wraps, else None."""
    if is_record(doc):
        return doc
    if isinstance(doc, dict):
        for inner in _wrapped(doc):
            if is_record(inner):
                return inner
    return None


def _not_a_record(element: Any) -> str:
    if not isinstance(element, dict):
        return f"record is a JSON {type(element).__name__}, not an object"
    return "record without eventName/eventSource (not a CloudTrail record)"


def _row(element: Any, line: int, display: str, problems: ReadProblems) -> dict[str, Any] | None:
    """Normalized row of one array element or document, or None (counted as a problem)."""
    if isinstance(element, dict) and isinstance(element.get("_source"), dict):
        element = element["_source"]  # an Elasticsearch hit
    record = as_record(element)
    if record is not None:
        return make_row(record_values(record), display, line, FORMAT)
    if is_elastic_cloudtrail(element):
        return make_row(elastic_values(element), display, line, FORMAT)
    problems.add(line, _not_a_record(element))
    return None


def _document_rows(
    doc: Any, line: int, display: str, problems: ReadProblems
) -> Iterator[dict[str, Any]]:
    """Rows of one parsed line: a Records object, an array of records, or one record."""
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        doc = doc["Records"]
    elements = doc if isinstance(doc, list) else [doc]
    for element in elements:
        row = _row(element, line, display, problems)
        if row is not None:
            yield row


# ---- line layout ----------------------------------------------------------------------------
def _line_rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    """Rows of a file with one JSON document per line (blank lines skipped)."""
    with open_binary(path) as handle:
        for number, raw in bounded_lines(handle, MAX_LINE_BYTES):
            if raw is None:
                problems.add(number, f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            text = raw.strip().removeprefix(_BOM) if number == 1 else raw.strip()
            if not text:
                continue
            try:
                doc = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                problems.add(number, f"invalid JSON: {exc}")
                continue
            yield from _document_rows(doc, number, display, problems)


def _first_line(path: Path) -> bytes | None:
    """First non-blank line, stripped; None when it is longer than MAX_LINE_BYTES."""
    with open_binary(path) as handle:
        for number, raw in bounded_lines(handle, MAX_LINE_BYTES):
            if raw is None:
                return None
            text = raw.strip().removeprefix(_BOM) if number == 1 else raw.strip()
            if text:
                return text
    return b""


def _parses(text: bytes | None) -> bool:
    if not text:
        return False
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _is_object_line(text: bytes | None) -> bool:
    """A first line that is a (broken) one-line object, not the start of a pretty document."""
    return text is not None and text.startswith(b"{") and text.endswith(b"}")


# ---- whole-document layout ------------------------------------------------------------------
def _read_document(path: Path, display: str) -> bytes:
    """The whole decompressed content (a BOM blanked, offsets kept); refused above the limit."""
    with open_binary(path) as handle:
        data = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ImagehuntError(
            f"a CloudTrail JSON document over {MAX_DOCUMENT_BYTES >> 20} MiB is not read whole",
            file=display,
            hint="convert it to one record per line, e.g. jq -c '.Records[]'",
        )
    return b"   " + data[3:] if data.startswith(_BOM) else data


def _parse_document(data: bytes) -> Any:
    """orjson.loads with the cyclic GC kept off the parsed tree.

    The collector would rescan the growing tree during the parse and again while rows are
    made (a 280 MB document: 3x slower). JSON has no cycles, so the tree is frozen out of
    collections; the caller unfreezes when done with it (``gc.unfreeze``).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        doc = orjson.loads(data)
        gc.freeze()
        return doc
    finally:
        if was_enabled:
            gc.enable()


def _element_lines(data: bytes, doc: Any) -> tuple[list[Any], list[int]]:
    """The record elements of a parsed document and the line of each one's opening bracket.

    Scalars in the array have no bracket: they get the line of the element before them.
    """
    in_records = isinstance(doc, dict) and isinstance(doc.get("Records"), list)
    if in_records:
        elements: list[Any] = doc["Records"]
    elif isinstance(doc, list):
        elements = doc
    else:
        start = len(data) - len(data.lstrip())
        return [doc], layout.line_numbers(data, [start])
    containers = sum(1 for element in elements if isinstance(element, dict | list))
    starts = layout.element_starts(data, in_records=in_records, expected=containers)
    bracket_lines = iter(layout.line_numbers(data, starts))
    lines: list[int] = []
    line = layout.line_numbers(data, [len(data) - len(data.lstrip())])[0]
    for element in elements:
        if isinstance(element, dict | list):
            line = next(bracket_lines, line)
        lines.append(line)
    return elements, lines


def _whole_rows(
    path: Path, display: str, problems: ReadProblems, first: bytes | None
) -> Iterator[dict[str, Any]]:
    """Rows of a file holding one JSON document (pretty-printed or one long line)."""
    data = _read_document(path, display)
    try:
        doc = _parse_document(data)
    except orjson.JSONDecodeError as exc:
        if first is None or _is_object_line(first):  # NDJSON, first line broken or too long
            yield from _line_rows(path, display, problems)
            return
        problems.add(max(exc.lineno, 1), f"not valid JSON: {exc.msg} (column {exc.colno})")
        return
    try:
        elements, lines = _element_lines(data, doc)
        del data, doc
        for element, line in zip(elements, lines, strict=True):
            row = _row(element, line, display, problems)
            if row is not None:
                yield row
    finally:
        gc.unfreeze()


def read_rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    """Rows of every record: line by line when the first line is JSON, else as one document."""
    first = _first_line(path)
    if first == b"":
        return
    if _parses(first):
        yield from _line_rows(path, display, problems)
    else:
        yield from _whole_rows(path, display, problems, first)


def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized batches of every CloudTrail record; malformed records go to ``problems``."""
    return batches(read_rows(path, display, problems))


# ---- sniffing -------------------------------------------------------------------------------
def _claims(doc: Any) -> bool:
    """A parsed document that is (or starts with) a CloudTrail record."""
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        doc = doc["Records"]
    first = doc[0] if isinstance(doc, list) and doc else doc
    if isinstance(first, dict) and isinstance(first.get("_source"), dict):
        first = first["_source"]
    record = as_record(first)
    if record is not None:
        return "eventVersion" in record
    return is_elastic_cloudtrail(first)


def _first_element(data: bytes) -> Any:
    """First record-level element of a document cut at the head size, parsed; else None."""
    in_records = data.startswith(b"{")
    span = next(layout.element_spans(data, in_records=in_records), None)
    if span is None:
        return None
    try:
        return orjson.loads(data[span[0] : span[1]])
    except orjson.JSONDecodeError:
        return None


_KEYS = (b'"eventVersion"', b'"eventSource"', b'"eventName"')


def sniff(head: Head) -> bool:
    """JSON whose first record (alone, in ``Records`` or in an array, maybe wrapped by a
    shipper) has eventVersion, eventSource and eventName."""
    if head.first_json is not None:
        return _claims(head.first_json)
    data = head.data.removeprefix(_BOM).lstrip()
    if not data.startswith((b"{", b"[")):
        return False
    for candidate in (data, head.lines[0] if head.lines else b""):
        try:
            return _claims(orjson.loads(candidate))
        except orjson.JSONDecodeError:
            continue
    element = _first_element(data)
    if element is not None:
        return _claims([element])
    # a first record longer than the head: its keys must at least be there
    return all(key in data for key in _KEYS)
