"""Where the records of a whole CloudTrail JSON document start, without parsing it twice.

The document is parsed by orjson; this module only finds the byte offset of each element of
the record array (the top-level array, or the array under the top-level ``"Records"`` key)
so every record gets the line of its opening brace. One regex jumps from bracket to bracket
over whole JSON strings (so ``{`` or ``]`` inside a string value is never counted): Python
runs once per bracket, not once per byte or per string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Everything up to the next bracket outside a string, then that bracket (absent at the end
# of the data or before an unterminated string). Possessive: no backtracking on any input.
_TO_BRACKET = re.compile(
    rb'(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"|[^"\[\]{}]++)*+([\[\]{}])?',
    re.DOTALL,
)
_RECORDS_KEY_BEFORE = re.compile(rb'"Records"\s*:\s*\Z')
_KEY_WINDOW = 4096
_TEXT_ON_A_LATER_LINE = re.compile(rb"\n\s*\S")
_OPEN_SQUARE = ord("[")
_OPENING = frozenset(b"[{")


def _opens_records(data: bytes, at: int) -> bool:
    """True when the bracket at ``at`` is the value of a ``"Records"`` key."""
    return _RECORDS_KEY_BEFORE.search(data, max(0, at - _KEY_WINDOW), at) is not None


def element_spans(data: bytes, *, in_records: bool) -> Iterator[tuple[int, int]]:
    """(start, end) byte offsets of each object or array element of the record array.

    ``in_records``: the array is the value of the top-level ``"Records"`` key (when the key
    repeats, elements of every such array are yielded); else it is the top-level array.
    Elements not closed before the end of ``data`` are not yielded.
    """
    depth = 0  # containers open before the current bracket
    target = -1 if in_records else 1  # depth at which elements open (-1: none now)
    start = 0
    for match in _TO_BRACKET.finditer(data):
        at = match.start(1)
        if at < 0:
            return
        char = data[at]
        if char in _OPENING:
            if depth == target:
                start = at
            elif in_records and depth == 1 and char == _OPEN_SQUARE and _opens_records(data, at):
                target = 2
            depth += 1
            continue
        depth -= 1
        if depth == target:
            yield start, at + 1
        elif in_records and depth == 1 and target == 2:
            target = -1  # the Records array closed
        elif depth <= 0:
            return


def _indent_before(data: bytes, at: int) -> bytes | None:
    """The whitespace that starts the line of ``at``; None if other text precedes ``at``."""
    line_start = data.rfind(b"\n", 0, at) + 1
    indent = data[line_start:at]
    return indent if not indent.strip() else None


def element_starts(data: bytes, *, in_records: bool, expected: int) -> list[int]:
    """Start offsets of the ``expected`` object/array elements of the record array.

    A one-line document needs no offsets beyond the first. A pretty-printed one indents
    every element alike, and a JSON string cannot hold a raw newline, so each element is a
    line starting with the first element's indentation and a bracket: found by one regex,
    accepted when the count is right. Otherwise every bracket is scanned (``element_spans``).
    """
    spans = element_spans(data, in_records=in_records)
    first = next(spans, None)
    if first is None:
        return []
    start = first[0]
    if _TEXT_ON_A_LATER_LINE.search(data, start) is None:
        return [start] * expected
    indent = _indent_before(data, start)
    if indent is not None:
        pattern = re.compile(b"\n" + re.escape(indent) + rb"[\[{]")
        found = [start] + [m.end() - 1 for m in pattern.finditer(data, start)]
        if len(found) == expected:
            return found
    return [start] + [begin for begin, _ in spans]


def line_numbers(data: bytes, offsets: list[int]) -> list[int]:
    """1-based line of each offset (offsets ascending): one pass of ``bytes.count``."""
    lines: list[int] = []
    line, previous = 1, 0
    for offset in offsets:
        line += data.count(b"\n", previous, offset)
        previous = offset
        lines.append(line)
    return lines
