"""Reference matcher: evaluates a parsed Sigma detection directly on one normalized event.

Used by tests as an oracle for the SQL backends. It walks pySigma's condition tree (after the
caller applied any processing pipeline to the rule) and implements imagehunt's intended
matching semantics in plain Python, independently of any backend code:

* an event is a dict keyed by schema field names; values are ``str``, ``int``, ``list[str]``
  (array fields), ``datetime`` (``@timestamp``), or absent / ``None``;
* strings match case-insensitively (``str.lower`` on both sides) unless the value is a
  ``SigmaCasedString``; ``*`` matches any run of characters (newlines included), ``?`` exactly
  one character;
* an array field matches when any of its elements matches;
* a leaf on a missing field is false, so ``not`` of it is true; ``null`` and ``exists: false``
  hold for a missing field (an empty array counts as missing);
* integer fields compare numerically with numbers; a string value against an integer field
  compares the field's decimal text; a number against a string field compares text;
* ``re`` is ``re.search`` with the rule's flags (``i``, ``m``, ``s``);
* ``cidr`` parses the text with ``ipaddress``: an IPv6 zone id (``%eth0``) is stripped, an
  IPv4 network also contains the IPv4-mapped IPv6 form (``::ffff:a.b.c.d``) of its addresses,
  anything ``ipaddress`` rejects (junk, leading-zero octets) never matches;
* ``gt``/``gte``/``lt``/``lte`` compare numbers; a string field's text must be a decimal
  number to compare;
* a keyword (value without field) matches when any string or string-array field matches it;
* the conditions of a rule are OR-ed.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from imagehunt import schema

Event = Mapping[str, Any]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_TEXT_KINDS = (schema.Kind.STRING, schema.Kind.STRINGS)
_PY_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}
_COMPARE: dict[CompareOperators, Callable[[Any, Any], bool]] = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class UnsupportedByReference(NotImplementedError):
    """The rule uses something the reference matcher does not define a meaning for."""


def matches(rule: SigmaRule, event: Event) -> bool:
    """True when any of the rule's conditions holds for ``event``."""
    return any(evaluate(condition.parsed, event) for condition in rule.detection.parsed_condition)


def evaluate(node: Any, event: Event) -> bool:
    """Evaluate one node of a postprocessed pySigma condition tree."""
    if isinstance(node, ConditionOR):
        return any(evaluate(arg, event) for arg in node.args)
    if isinstance(node, ConditionAND):
        return all(evaluate(arg, event) for arg in node.args)
    if isinstance(node, ConditionNOT):
        (arg,) = node.args
        return not evaluate(arg, event)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return field_matches(node.field, node.value, event)
    if isinstance(node, ConditionValueExpression):
        return keyword_matches(node.value, event)
    raise UnsupportedByReference(f"condition node {type(node).__name__}")


def keyword_matches(value: Any, event: Event) -> bool:
    """A value without a field: true when any string (or string-array) field matches it."""
    if isinstance(value, SigmaNumber):
        value = SigmaString(str(value.number))
    if not isinstance(value, SigmaString):
        raise UnsupportedByReference(f"keyword of type {type(value).__name__}")
    return any(
        field_matches(fld.name, value, event) for fld in schema.FIELDS if fld.kind in _TEXT_KINDS
    )


def _schema_field(name: str) -> schema.Field:
    try:
        return schema.field(name)
    except KeyError:
        raise UnsupportedByReference(f"field '{name}' is not in the normalized schema") from None


def is_missing(fld: schema.Field, raw: Any) -> bool:
    """Absent, None, or (for array fields) an empty list."""
    if raw is None:
        return True
    return fld.is_array and len(raw) == 0


def field_matches(name: str, value: Any, event: Event) -> bool:
    """One ``field: value`` leaf."""
    fld = _schema_field(name)
    raw = event.get(name)
    if isinstance(value, SigmaNull):
        return is_missing(fld, raw)
    if isinstance(value, SigmaExists):
        return (not is_missing(fld, raw)) == value.exists
    if isinstance(value, SigmaExpansion):
        return any(field_matches(name, v, event) for v in value.values)
    if raw is None or is_missing(fld, raw):
        return False
    elements: list[Any] = list(raw) if fld.is_array else [raw]
    return any(element_matches(fld, value, el) for el in elements if el is not None)


def _text(fld: schema.Field, element: Any) -> str:
    if fld.kind is schema.Kind.INTEGER:
        return str(int(element))
    if fld.kind in _TEXT_KINDS:
        return str(element)
    raise UnsupportedByReference(f"text matching on {fld.kind.value} field '{fld.name}'")


def element_matches(fld: schema.Field, value: Any, element: Any) -> bool:
    """Does one stored element (a scalar) match one Sigma value?"""
    if isinstance(value, SigmaString):  # SigmaCasedString included
        cased = isinstance(value, SigmaCasedString)
        return wildcard_match(value, _text(fld, element), cased=cased)
    if isinstance(value, SigmaNumber):
        if fld.kind is schema.Kind.INTEGER:
            return bool(int(element) == value.number)
        return _text(fld, element) == str(value.number)
    if isinstance(value, SigmaBool):
        return _text(fld, element).lower() == ("true" if value.boolean else "false")
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= _PY_FLAGS[flag]
        return re.search(value.regexp.to_plain(), _text(fld, element), flags) is not None
    if isinstance(value, SigmaCIDRExpression):
        if fld.kind not in _TEXT_KINDS:
            return False
        return ip_in_network(str(element), value.network)
    if isinstance(value, SigmaCompareExpression):
        number = _as_number(fld, element)
        return number is not None and _COMPARE[value.op](number, value.number.number)
    raise UnsupportedByReference(f"value of type {type(value).__name__}")


def _as_number(fld: schema.Field, element: Any) -> int | float | None:
    if fld.kind is schema.Kind.INTEGER:
        return int(element)
    text = _text(fld, element)
    return float(text) if _DECIMAL.fullmatch(text) else None


def wildcard_regex(value: SigmaString, *, cased: bool) -> re.Pattern[str]:
    """Whole-string regex of a Sigma string (``*`` any run, ``?`` one character)."""
    pieces: list[str] = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            pieces.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append(".")
        elif isinstance(part, str):
            pieces.append(re.escape(part if cased else part.lower()))
        else:
            raise UnsupportedByReference(f"unexpanded placeholder {part!r}")
    return re.compile("".join(pieces), re.DOTALL)


def wildcard_match(value: SigmaString, text: str, *, cased: bool) -> bool:
    """Whole-string match of ``text`` against a Sigma string with wildcards."""
    pattern = wildcard_regex(value, cased=cased)
    return pattern.fullmatch(text if cased else text.lower()) is not None


def parse_ip(text: str) -> IPAddress | None:
    """An address from its text (an IPv6 zone id is stripped), or None if it is not one.

    A zone id is the non-empty text after the first ``%``; it contains no further ``%``.
    """
    if "%" in text:
        text, _, zone = text.partition("%")
        if not zone or "%" in zone or ":" not in text:
            return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def ip_in_network(text: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """CIDR membership; an IPv4 network also holds the IPv4-mapped IPv6 forms."""
    address = parse_ip(text)
    if address is None:
        return False
    if isinstance(network, ipaddress.IPv4Network) and isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is None:
            return False
        address = mapped
    if address.version != network.version:
        return False
    low, high = int(network.network_address), int(network.broadcast_address)
    return low <= int(address) <= high
