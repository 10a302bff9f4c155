"""Turn a parsed JSON document into a normalized row: ECS dotted or nested keys, any mix.

Used by every Python-side source and by the ECS reader's exact path. The conversions match
what the DuckDB fast path produces, so both paths give the same row for the same line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from imagehunt import schema


def flatten(doc: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted.path, value) for every non-object leaf; arrays are leaves."""
    for key, value in doc.items():
        path = prefix + key if prefix else key
        if type(value) is dict or (
            not isinstance(value, list | str) and isinstance(value, Mapping)
        ):
            yield from flatten(value, path + ".")
        else:
            yield path, value


def message_text(message: object) -> str | None:
    """journald ``MESSAGE``: a string, or an array of byte values (decoded, bad bytes replaced)."""
    if isinstance(message, str):
        return message
    if not isinstance(message, list):
        return None
    try:
        return bytes(message).decode("utf-8", errors="replace")
    except (TypeError, ValueError):  # an element that is not a byte value
        return None


def to_text(value: Any) -> str | None:
    """Scalar as text the way DuckDB renders a JSON value read as VARCHAR."""
    if type(value) is str:
        return value
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


# Numbers in text, as the DuckDB fast path's SQL reads them (``ecs._cast`` uses the same two
# patterns): a decimal integer, or a decimal number with an optional exponent.
INTEGER_TEXT = r"[ \t\n\r\f]*[+-]?[0-9]+[ \t\n\r\f]*"
NUMBER_TEXT = r"[ \t\n\r\f]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r\f]*"
# Epoch milliseconds: 0 up to the end of year 9999 (Python's datetime ends there; a larger
# number is no time on either path rather than an error in DuckDB).
MAX_EPOCH_MS = 253402300799999
EPOCH_TEXT = r"[ \t\n\r\f]*[0-9]+(\.[0-9]*)?[ \t\n\r\f]*"
_INTEGER_TEXT = re.compile(INTEGER_TEXT)
_BIGINT_DIGITS = 19  # a BIGINT has at most 19 digits; longer text is no integer on either path
MAX_DIGITS = 4300  # Python's int() refuses longer decimal text (sys.get_int_max_str_digits)
_EPOCH_TEXT = re.compile(EPOCH_TEXT)
_NUMBER_TEXT = re.compile(NUMBER_TEXT)


def to_integer(value: Any) -> int | None:
    """Integer from an int, an integral float or a decimal string; None otherwise.

    Text is read the way the fast path's SQL reads it (``ecs._cast``): ASCII digits with a
    sign, or a decimal number that is integral ("3333.0", "3.333e3"). Anything else, such as
    "+-3", "1_000" or non-ASCII digits, is not an integer (and never an exception).
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**63:
            return int(value)
        return None
    if isinstance(value, str):
        if _INTEGER_TEXT.fullmatch(value):
            text = value.strip(" \t\n\r\f")
            digits = text.lstrip("+-").lstrip("0") or "0"  # int() counts leading zeros too
            if len(digits) > _BIGINT_DIGITS:
                return None
            number = -int(digits) if text.startswith("-") else int(digits)
            return number if -(2**63) <= number < 2**63 else None
        if _NUMBER_TEXT.fullmatch(value):
            return to_integer(float(value))
        return None
    return None


def ascii_int(text: str) -> int | None:
    """Non-negative integer from text of ASCII digits only ("²" and other scripts' digits
    pass ``str.isdigit`` but are not numbers here); None otherwise or when too long."""
    digits = text.lstrip("0") or "0"  # int() counts leading zeros towards its limit
    if not (text.isascii() and text.isdigit()) or len(digits) > MAX_DIGITS:
        return None
    return int(digits)


def to_strings(value: Any) -> list[str] | None:
    """Array field: a list of texts (None elements dropped) from a list or a scalar."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    texts = [t for t in (to_text(v) for v in items) if t is not None]
    return texts


def from_epoch_nanoseconds(value: float) -> datetime | None:
    """Epoch nanoseconds as an aware UTC datetime, cut to microseconds (None if out of range)."""
    try:
        seconds, nanos = divmod(int(value), 1_000_000_000)
        return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=nanos // 1000)
    except (OverflowError, OSError, ValueError):
        return None


def to_timestamp(value: Any) -> datetime | None:
    """ISO 8601 text, epoch milliseconds or a datetime as an aware UTC datetime."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC)
    if isinstance(value, int | float):
        if not 0 <= value <= MAX_EPOCH_MS:
            return None
        try:
            return datetime.fromtimestamp(value / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    if _EPOCH_TEXT.fullmatch(value):  # epoch milliseconds as text, as the SQL reads them
        return to_timestamp(float(value))
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_CONVERT = {
    schema.Kind.STRING: to_text,
    schema.Kind.INTEGER: to_integer,
    schema.Kind.STRINGS: to_strings,
    schema.Kind.TIMESTAMP: to_timestamp,
}
_CONVERTER_BY_FIELD = {f.name: _CONVERT[f.kind] for f in schema.FIELDS}


_PREFIXES = frozenset(
    ".".join(f.name.split(".")[:n]) for f in schema.FIELDS for n in range(1, f.name.count(".") + 1)
)


def normalize_ecs(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Map an ECS document (nested objects, dotted keys, scalars or arrays) to schema fields.

    A value of the wrong type for one field leaves that field empty and keeps the others.
    Objects are only entered where their path can lead to a schema field.
    """
    row: dict[str, Any] = {}
    converters = _CONVERTER_BY_FIELD
    prefixes = _PREFIXES
    stack: list[tuple[str, Mapping[str, Any]]] = [("", doc)]
    while stack:
        prefix, node = stack.pop()
        for key, value in node.items():
            path = prefix + key
            if isinstance(value, dict) and path in prefixes:
                stack.append((path + ".", value))
                continue
            convert = converters.get(path)
            if convert is None or row.get(path) is not None:
                continue
            converted = convert(value)
            if converted is not None:
                row[path] = converted
    return row
