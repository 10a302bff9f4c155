"""Building normalized rows and Arrow batches for any source.

A source maps its records to ``{ecs field name: raw value}``; ``make_row`` converts each value
to the field's kind (``schema.py``) and adds the provenance; ``batches`` groups rows into
Arrow record batches of the normalized schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa

from imagehunt import schema
from imagehunt.sources.normalize import to_integer, to_strings, to_text, to_timestamp

BATCH_ROWS = 8192

_CONVERT: dict[schema.Kind, Callable[[Any], Any]] = {
    schema.Kind.STRING: to_text,
    schema.Kind.INTEGER: to_integer,
    schema.Kind.STRINGS: to_strings,
    schema.Kind.TIMESTAMP: to_timestamp,
}
_KIND_BY_NAME: dict[str, schema.Kind] = {f.name: f.kind for f in schema.FIELDS}
_STRING, _INTEGER, _STRINGS = schema.Kind.STRING, schema.Kind.INTEGER, schema.Kind.STRINGS


def _already_typed(kind: schema.Kind, value: Any) -> bool:
    """True when ``value`` is already what its field stores (the common case, kept cheap)."""
    if kind is _STRING:
        return type(value) is str
    if kind is _INTEGER:
        return type(value) is int and -(2**63) <= value < 2**63
    if kind is _STRINGS:
        return type(value) is list and all(type(v) is str for v in value)
    return False


def make_row(values: Mapping[str, Any], display: str, line: int, fmt: str) -> dict[str, Any]:
    """Normalized row: each value converted to its field's kind, plus ``_file/_line/_format``.

    ``values`` keys must be schema field names (KeyError otherwise: no source invents a
    field). A value that cannot be converted becomes NULL for that field only.
    """
    row: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        kind = _KIND_BY_NAME[name]
        row[name] = value if _already_typed(kind, value) else _CONVERT[kind](value)
    row[schema.FILE_COLUMN] = display
    row[schema.LINE_COLUMN] = line
    row[schema.FORMAT_COLUMN] = fmt
    return row


def batches(rows: Iterable[dict[str, Any]], size: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Arrow batches of the normalized schema from rows made by ``make_row``.

    Rows already built are yielded before an error raised by ``rows`` propagates, so a file
    that breaks off (truncated .gz) keeps what was read.
    """
    arrow_schema = schema.arrow_schema()
    pending: list[dict[str, Any]] = []
    try:
        for row in rows:
            pending.append(row)
            if len(pending) >= size:
                yield pa.RecordBatch.from_pylist(pending, schema=arrow_schema)
                pending = []
    except Exception:
        if pending:
            yield pa.RecordBatch.from_pylist(pending, schema=arrow_schema)
        raise
    if pending:
        yield pa.RecordBatch.from_pylist(pending, schema=arrow_schema)
