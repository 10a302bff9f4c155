"""Spark SQL backend: the DuckDB backend's boolean expressions, written in Spark SQL (3.3+).

Same semantics as ``DuckDBBackend`` (case folding, any-element arrays, NULL-safe leaves,
CIDR on the same portable representation), different spelling:

* identifiers in backticks (```process.name``` is one column, dots included);
* string literals with backslash escapes, as Spark reads them by default; ``${`` is written
  ``\\u0024{`` so that Spark's variable substitution never sees it;
* arrays through ``exists(col, x -> ...)``, ``size``, ``array_join``;
* rule regexes (RE2 syntax, search semantics) rewritten for Java's ``RLIKE`` (also a
  search): ``$`` becomes ``\\z`` (Java's ``$`` also matches before a final line break),
  ``\\s``/``\\b`` get RE2's ASCII meaning, ``.`` excludes only ``\\n`` (``(?d)``), ``(?i)``
  folds Unicode case (``(?iu)``); constructs Java reads differently are refused by name;
* CIDR tests inline the engine's IPv4 -> BIGINT and IPv6 -> 32 hex digits conversions with
  Spark's higher-order functions (Spark has no macros and no CIDR function).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import ClassVar

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaRegularExpressionFlag

from imagehunt.backends.duckdb import (
    DuckDBBackend,
    Predicate,
    _ipv6_bounds,
)
from imagehunt.backends.qradar_regex import JavaRegexError, search_to_java

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_LITERAL_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def spark_string(value: str) -> str:
    """Quote ``value`` as a Spark SQL string literal (backslash escapes; NUL rejected)."""
    if "\x00" in value:
        raise SigmaFeatureNotSupportedByBackendError("NUL character in a rule value")
    out = []
    for char in value:
        if char in _LITERAL_ESCAPES:
            out.append(_LITERAL_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "'" + "".join(out).replace("${", "\\u0024{") + "'"


def spark_identifier(name: str) -> str:
    """Quote a column name in backticks (backticks doubled)."""
    return "`" + name.replace("`", "``") + "`"


# ---- RE2 regex text -> Java regex text ------------------------------------------------------

_RE2_SPACE = "\\t\\n\\f\\r "  # RE2's \s; Java's also has \x0B
_WORD = "[0-9A-Za-z_]"
_WORD_BOUNDARY = f"(?:(?<={_WORD})(?!{_WORD})|(?<!{_WORD})(?={_WORD}))"
_NOT_WORD_BOUNDARY = f"(?:(?<={_WORD})(?={_WORD})|(?<!{_WORD})(?!{_WORD}))"
_INLINE_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?[):]")


def java_regex(pattern: str, flags: Sequence[SigmaRegularExpressionFlag] = ()) -> str:
    """A rule regex (RE2 syntax) as a Java regex that finds the same matches in any text."""
    search_to_java(pattern, ignore_case=False, dotall=False)  # refuses what Java reads otherwise
    multiline = SigmaRegularExpressionFlag.MULTILINE in flags
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escaped = pattern[index + 1 : index + 2]
            out.append(_java_escape(escaped, in_class))
            index += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append(char)
        elif char == "[":
            in_class = True
            opening = "[^" if pattern.startswith("[^", index) else "["
            out.append(opening)
            index += len(opening)
            continue
        elif char == "(" and pattern.startswith("(?", index):
            _check_inline_flags(pattern, index)
            out.append(char)
        elif char == "^":
            out.append("(?:^|(?<=\\n))" if multiline else "^")
        elif char == "$":
            out.append("(?:\\z|(?=\\n))" if multiline else "\\z")
        else:
            out.append(char)
        index += 1
    prefix = "d"  # UNIX_LINES: '.' excludes only '\n', as in RE2
    if SigmaRegularExpressionFlag.IGNORECASE in flags:
        prefix += "iu"
    if SigmaRegularExpressionFlag.DOTALL in flags:
        prefix += "s"
    return f"(?{prefix}){''.join(out)}"


def _java_escape(escaped: str, in_class: bool) -> str:
    if escaped == "s":
        return _RE2_SPACE if in_class else f"[{_RE2_SPACE}]"
    if escaped == "S" and not in_class:
        return f"[^{_RE2_SPACE}]"
    if escaped == "b" and not in_class:
        return _WORD_BOUNDARY
    if escaped == "B" and not in_class:
        return _NOT_WORD_BOUNDARY
    if escaped == "v":
        return "\\x0B"  # RE2: the vertical tab; Java: any vertical whitespace
    if escaped in ("S", "Q", "E", "C") or escaped.isdigit():
        raise JavaRegexError(f"'\\{escaped}' is read differently by Java (or not at all)")
    return "\\" + escaped


def _check_inline_flags(pattern: str, index: int) -> None:
    found = _INLINE_FLAGS.match(pattern, index)
    if found and "m" in (found.group(1) or "") + (found.group(2) or ""):
        raise JavaRegexError("an inline (?m) flag: use the |m modifier")


# ---- CIDR: the engine's portable IP representation, inline ----------------------------------

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"


def ip4_expr(x: str) -> str:
    """Spark SQL: dotted-quad text (no leading zeros) -> BIGINT; NULL otherwise."""
    return (
        f"CASE WHEN {x} RLIKE {spark_string('^' + _IPV4 + chr(92) + 'z')} THEN aggregate("
        f"transform(split({x}, '[.]'), ih_o -> CAST(ih_o AS BIGINT)), CAST(0 AS BIGINT), "
        "(ih_a, ih_b) -> ih_a * 256 + ih_b) END"
    )


def _ip6_v4tail(s: str) -> str:
    tail = spark_string("[0-9.]+\\z")
    return (
        f"CASE WHEN {s} RLIKE {spark_string(':' + _IPV4 + chr(92) + 'z')} THEN transform("
        f"array({ip4_expr(f'regexp_extract({s}, {tail}, 0)')}), ih_v -> concat("
        f"regexp_replace({s}, {tail}, ''), format_string('%x:%x', ih_v div 65536, "
        f"ih_v % 65536)))[0] WHEN contains({s}, '.') THEN NULL ELSE {s} END"
    )


def _ip6_groups(t: str) -> str:
    nonempty = f"size(filter(split(replace({t}, '::', ':'), ':'), ih_e -> ih_e <> ''))"
    return (
        f"CASE WHEN NOT ({t} RLIKE {spark_string('^[0-9a-f:]+' + chr(92) + 'z')}) "
        f"OR contains({t}, ':::') THEN NULL "
        f"WHEN size(split({t}, '::')) > 2 THEN NULL "
        f"WHEN contains({t}, '::') AND {nonempty} > 7 THEN NULL "
        f"WHEN NOT contains({t}, '::') THEN split({t}, ':') "
        "ELSE concat("
        f"CASE WHEN startswith({t}, '::') THEN array_repeat('', 0) "
        f"ELSE split(split_part({t}, '::', 1), ':') END, "
        f"array_repeat('0', 8 - {nonempty}), "
        f"CASE WHEN endswith({t}, '::') THEN array_repeat('', 0) "
        f"ELSE split(split_part({t}, '::', 2), ':') END) END"
    )


def _ip6_hex(g: str) -> str:
    group = spark_string("^[0-9a-f]{1,4}\\z")
    return (
        f"CASE WHEN {g} IS NULL OR size({g}) <> 8 OR NOT forall({g}, ih_e -> ih_e RLIKE {group}) "
        f"THEN NULL ELSE array_join(transform({g}, ih_e -> lpad(ih_e, 4, '0')), '') END"
    )


def ip6_expr(x: str) -> str:
    """Spark SQL: IPv6 text (zone id, ``::``, IPv4 tail allowed) -> 32 hex digits; else NULL.

    Each intermediate value is bound once with ``transform(array(v), name -> ...)[0]``.
    """
    zone = spark_string("%[^%]+\\z")
    return (
        f"CASE WHEN contains({x}, ':') THEN transform(array(lower(regexp_replace({x}, {zone}, "
        f"''))), ih_s -> transform(array({_ip6_v4tail('ih_s')}), ih_t -> transform(array("
        f"{_ip6_groups('ih_t')}), ih_g -> {_ip6_hex('ih_g')})[0])[0])[0] END"
    )


def cidr_any_expr(x: str, networks: Sequence[Network]) -> str:
    """Spark SQL: the address text ``x`` is in one of ``networks`` (NULL if not an address)."""
    tests = []
    needs_v4 = False
    for network in networks:
        lo6, hi6 = _ipv6_bounds(network)
        if isinstance(network, ipaddress.IPv4Network):
            needs_v4 = True
            lo, hi = int(network.network_address), int(network.broadcast_address)
            tests.append(f"ih_ip.v4 BETWEEN {lo} AND {hi}")
        tests.append(f"ih_ip.v6 BETWEEN '{lo6}' AND '{hi6}'")
    v4 = ip4_expr(x) if needs_v4 else "CAST(NULL AS BIGINT)"
    return (
        f"transform(array(named_struct('v4', {v4}, 'v6', {ip6_expr(x)})), "
        f"ih_ip -> {' OR '.join(tests)})[0]"
    )


_FLAG_LETTERS = {
    "i": SigmaRegularExpressionFlag.IGNORECASE,
    "m": SigmaRegularExpressionFlag.MULTILINE,
    "s": SigmaRegularExpressionFlag.DOTALL,
}


class SparkBackend(DuckDBBackend):
    """pySigma backend producing Spark SQL boolean expressions over schema.py columns.

    Only the dialect hooks of ``DuckDBBackend`` (and the CIDR tests) are overridden, so the
    two backends cannot drift apart in what a rule means.
    """

    name: ClassVar[str] = "imagehunt Spark SQL"
    formats: ClassVar[dict[str, str]] = {"default": "Spark SQL boolean expression"}
    text_type: ClassVar[str] = "STRING"
    affix_functions: ClassVar[dict[str, str]] = {
        "prefix": "startswith",
        "suffix": "endswith",
        "contains": "contains",
    }

    def quote(self, value: str) -> str:
        return spark_string(value)

    def identifier(self, name: str) -> str:
        return spark_identifier(name)

    def any_element(self, column: str, test: str) -> str:
        return f"exists({column}, x -> {test})"

    def size(self, column: str) -> str:
        return f"size({column})"

    def joined(self, column: str) -> str:
        return f"array_join({column}, chr(31))"

    def regex_literal(self, pattern: str, flags: str) -> str:
        return self.quote(java_regex(pattern, [_FLAG_LETTERS[f] for f in flags]))

    def regex_search(self, text: str, regex: str) -> str:
        return f"{text} RLIKE {regex}"

    def regex_whole(self, text: str, body: str) -> str:
        anchored = "(?s)^(?:" + body + ")\\z"
        return f"{text} RLIKE {self.quote(anchored)}"

    def _cidr_predicate(self, network: Network) -> Predicate:
        return lambda x: cidr_any_expr(x, [network])

    def _cidr_any(self, x: str, networks: Sequence[Network]) -> str:
        return cidr_any_expr(x, networks)
