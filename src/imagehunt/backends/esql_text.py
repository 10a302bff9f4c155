"""Text helpers of the ES|QL target: string literals, LIKE patterns, Lucene regex rewrites.

* ES|QL string literals (Elasticsearch's ``EsqlBaseLexer.g4``) know the escapes ``\\t \\n \\r
  \\" \\\\`` only; any other character may appear as it is.
* ``LIKE`` patterns: ``*`` any string, ``?`` one character, ``\\`` escapes the next one.
* ``RLIKE`` is a Lucene regex matched against the whole value (``eql_regex`` writes them).
* Multi-valued fields: ES|QL's ``RLIKE``/``LIKE``/``==`` return null on a multi-valued value,
  so an "any element matches" test joins the elements with a newline (``MV_CONCAT``) and
  matches ``(.*\\n)?(P)(\\n.*)?``, where ``P`` is the element pattern rewritten so that it
  can never match a newline (:func:`element_regex`).
"""

from __future__ import annotations

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

SEPARATOR = "\n"
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def esql_string(value: str) -> str:
    """``value`` as an ES|QL double-quoted string literal."""
    return '"' + "".join(_ESCAPES.get(char, char) for char in value) + '"'


def like_literal(text: str) -> str:
    """A literal piece of a LIKE pattern: ``*``, ``?`` and ``\\`` escaped with ``\\``."""
    return "".join("\\" + c if c in "*?\\" else c for c in text)


def lucene_literal(text: str) -> str:
    """``text`` as a Lucene regex matching exactly it (every non-alphanumeric escaped)."""
    return "".join(c if c.isalnum() or ord(c) < 0x20 else "\\" + c for c in text)


def lower_outside_classes(pattern: str) -> str:
    """Lower-case the literals of a Lucene regex, leaving character classes as they are.

    ``eql_regex`` with ``ignore_case`` already gives classes both cases; the subject is
    ``TO_LOWER``-ed, so lower-cased literals make the match case-insensitive.
    """
    out: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif in_class:
            out.append(char)
            in_class = char != "]"
        elif char == "[":
            out.append(char)
            in_class = True
        else:
            out.append(char.lower())
    return "".join(out)


def element_regex(pattern: str, field: str) -> str:
    """``pattern`` made unable to match the separator, for a test on joined elements.

    On an element without a newline the result matches exactly what ``pattern`` matches:
    ``.`` becomes ``[^\\n]``, a negated class also excludes the newline, a newline in a positive
    class is dropped. A literal newline (or a class range spanning it) fails the rule.
    """
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[":
            end = _class_end(pattern, index)
            out.append(_class_without_separator(pattern[index : end + 1], field))
            index = end + 1
            continue
        if char == SEPARATOR:
            raise _unjoinable(field, "a literal newline")
        out.append("[^\n]" if char == "." else char)
        index += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    index = start + 1
    while pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index


def _class_without_separator(text: str, field: str) -> str:
    body = text[1:-1]
    negated = body.startswith("^")
    if negated:
        body = body[1:]
    if _range_covers_newline(body):
        raise _unjoinable(field, "a character range containing the newline")
    if negated:
        return "[^" + ("" if SEPARATOR in body else SEPARATOR) + body + "]"
    kept = body.replace(SEPARATOR, "")
    if not kept:
        raise _unjoinable(field, "a class of the newline alone")
    return "[" + kept + "]"


def _range_covers_newline(body: str) -> bool:
    """Whether an unescaped ``a-b`` range of a class body contains the newline."""
    tokens: list[str | None] = []  # None: the range operator
    index = 0
    while index < len(body):
        if body[index] == "\\":
            tokens.append(body[index + 1])
            index += 2
            continue
        tokens.append(None if body[index] == "-" else body[index])
        index += 1
    for position in range(1, len(tokens) - 1):
        low, high = tokens[position - 1], tokens[position + 1]
        operator = tokens[position] is None and low is not None and high is not None
        if operator and ord(str(low)) <= ord(SEPARATOR) <= ord(str(high)):
            return True
    return False


def _unjoinable(field: str, what: str) -> SigmaFeatureNotSupportedByBackendError:
    return SigmaFeatureNotSupportedByBackendError(
        f"regex with {what} on the multi-valued field '{field}': ES|QL tests its elements "
        "as newline-separated lines (MV_CONCAT), which this pattern could cross"
    )


def joined_regex(element_pattern: str) -> str:
    """The whole-string pattern of 'one line of the joined elements matches'."""
    return f"(.*\n)?({element_pattern})(\n.*)?"
