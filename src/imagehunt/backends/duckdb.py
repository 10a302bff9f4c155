"""DuckDB backend: compiles a Sigma rule's detection into one SQL boolean expression.

The expression runs over a relation whose columns are exactly the fields of ``schema.py``
(quoted ECS names such as ``"process.name"``). Semantics, shared with the reference matcher
used in tests:

* string values match case-insensitively unless the rule says ``|cased``;
* array fields (``process.args``, ``event.type`` …) match when any element matches;
* every leaf is NULL-safe (``coalesce(…, false)``), so ``not selection`` is true for an event
  that lacks the field, as in Sigma;
* CIDR tests are integer range checks on IPv4 and fixed-width hex range checks on IPv6 (an
  IPv4 range also covers its IPv4-mapped IPv6 form); DuckDB's ``inet`` extension is not used
  because it cannot be installed offline (docs/architecture.md);
* every value is escaped; nothing from a rule reaches SQL unquoted.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from re import _parser as sre_parse  # type: ignore[attr-defined]  # proves rewrites exact
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from imagehunt import schema
from imagehunt.backends.sigma_values import affix_shape, canonical_integer
from imagehunt.backends.text_backend import COMPARE_OPERATORS, ImagehuntTextBackend
from imagehunt.portable_regex import regex_escape

Predicate = Callable[[str], str]

# Above this many wildcard patterns on one field, an OR list becomes one RE2 alternation.
REGEX_MERGE_THRESHOLD = 4

_RE2_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}
_IPV4_MAPPED_PREFIX = "0" * 20 + "ffff"


def sql_string(value: str) -> str:
    """Quote ``value`` as a SQL string literal (single quotes doubled; NUL rejected)."""
    if "\x00" in value:
        raise SigmaFeatureNotSupportedByBackendError("NUL character in a rule value")
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """Quote a column name (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def sigma_string_to_regex(value: SigmaString) -> str:
    """Anchored-free regex body for a Sigma string with ``*``/``?`` wildcards."""
    parts: list[str] = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            parts.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            parts.append(".")
        elif isinstance(part, str):
            parts.append(regex_escape(part))
        else:
            raise SigmaFeatureNotSupportedByBackendError(
                f"unexpanded placeholder {part!r} in a rule value"
            )
    return "".join(parts)


def _like_pattern(value: SigmaString) -> str:
    out: list[str] = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append("%")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append("_")
        elif isinstance(part, str):
            out.append(part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
        else:
            raise SigmaFeatureNotSupportedByBackendError(
                f"unexpanded placeholder {part!r} in a rule value"
            )
    return "".join(out)


_SEPARATOR = "\\x1f"  # RE2 escape of chr(31), the separator array elements are joined with


@functools.lru_cache(maxsize=256)
def element_regex_on_joined(pattern: str) -> str | None:
    """The same test on elements joined by chr(31), or None where that could differ.

    A regex inside a list lambda is compiled again for every vector DuckDB processes; for a
    list-sized alternation (typosquats) that dominates a scan. On the joined string it is
    compiled once. This is only exact when the pattern cannot match the separator and is
    anchored, if at all, at its very start and end: ``^`` then means "start of an element"
    and ``$`` "end of an element". Anything else keeps the per-element form.
    """
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return None
    items = list(parsed)
    starts = bool(items) and items[0] == (sre_parse.AT, sre_parse.AT_BEGINNING)
    ends = len(items) > int(starts) and items[-1] == (sre_parse.AT, sre_parse.AT_END)
    inner = items[int(starts) : len(items) - int(ends)]
    if not _cannot_match_separator(inner):
        return None
    if starts != pattern.startswith("^") or (ends and not _ends_with_anchor(pattern)):
        return None
    core = pattern[int(starts) : len(pattern) - int(ends)]
    head = f"(?:^|{_SEPARATOR})" if starts else ""
    tail = f"(?:{_SEPARATOR}|$)" if ends else ""
    return f"{head}(?:{core}){tail}"


def _ends_with_anchor(pattern: str) -> bool:
    escapes = len(pattern[:-1]) - len(pattern[:-1].rstrip("\\"))
    return pattern.endswith("$") and escapes % 2 == 0


_SAFE_CATEGORIES = {sre_parse.CATEGORY_DIGIT, sre_parse.CATEGORY_SPACE, sre_parse.CATEGORY_WORD}
_SAFE_OPS = {
    sre_parse.LITERAL,
    sre_parse.IN,
    sre_parse.BRANCH,
    sre_parse.SUBPATTERN,
    sre_parse.MAX_REPEAT,
    sre_parse.MIN_REPEAT,
}


def _cannot_match_separator(items: Any) -> bool:
    """True when no part of a parsed pattern can consume chr(31) or anchor inside it."""
    for op, arg in items:
        if op not in _SAFE_OPS:
            return False
        if op is sre_parse.LITERAL and arg == 0x1F:
            return False
        if op is sre_parse.IN and not _class_excludes_separator(arg):
            return False
        if op is sre_parse.BRANCH and not all(_cannot_match_separator(b) for b in arg[1]):
            return False
        if op is sre_parse.SUBPATTERN and not _cannot_match_separator(arg[-1]):
            return False
        if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT) and not _cannot_match_separator(
            arg[2]
        ):
            return False
    return True


def _class_excludes_separator(members: Any) -> bool:
    for op, arg in members:
        if op is sre_parse.NEGATE:
            return False
        if op is sre_parse.LITERAL and arg == 0x1F:
            return False
        if op is sre_parse.RANGE and arg[0] <= 0x1F <= arg[1]:
            return False
        if op is sre_parse.CATEGORY and arg not in _SAFE_CATEGORIES:
            return False
    return True


def _ipv6_bounds(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[str, str]:
    """32-hex-digit bounds of a range; an IPv4 range maps to its ::ffff:0:0/96 form."""
    lo, hi = int(network.network_address), int(network.broadcast_address)
    if isinstance(network, ipaddress.IPv4Network):
        return _IPV4_MAPPED_PREFIX + f"{lo:08x}", _IPV4_MAPPED_PREFIX + f"{hi:08x}"
    return f"{lo:032x}", f"{hi:032x}"


class DuckDBBackend(ImagehuntTextBackend):
    """pySigma backend producing DuckDB SQL boolean expressions over schema.py columns."""

    name: ClassVar[str] = "imagehunt DuckDB"
    formats: ClassVar[dict[str, str]] = {"default": "SQL boolean expression"}

    eq_token: ClassVar[str] = " = "
    str_quote: ClassVar[str] = "'"

    # Names of the SQL functions the expressions call for CIDR tests (created by the engine).
    ipv4_function: ClassVar[str] = "ih_ip4"
    ipv6_function: ClassVar[str] = "ih_ip6"

    # ---- the dialect: what a sibling backend (Spark SQL) spells differently -----------------
    text_type: ClassVar[str] = "VARCHAR"
    affix_functions: ClassVar[dict[str, str]] = {
        "prefix": "starts_with",
        "suffix": "ends_with",
        "contains": "contains",
    }

    def quote(self, value: str) -> str:
        """A string literal of this dialect."""
        return sql_string(value)

    def identifier(self, name: str) -> str:
        """A quoted column name of this dialect."""
        return sql_identifier(name)

    def any_element(self, column: str, test: str) -> str:
        """True when ``test`` (on the lambda parameter ``x``) holds for an element."""
        return f"list_bool_or(list_transform({column}, lambda x: {test}))"

    def size(self, column: str) -> str:
        """Number of elements of a list column."""
        return f"len({column})"

    def joined(self, column: str) -> str:
        """A list column's elements joined by chr(31)."""
        return f"array_to_string({column}, chr(31))"

    def regex_literal(self, pattern: str, flags: str) -> str:
        """A quoted regex (RE2 text and inline flags such as ``i``) for :meth:`regex_search`."""
        return self.quote((f"(?{flags})" if flags else "") + pattern)

    def regex_search(self, text: str, regex: str) -> str:
        """True when the quoted ``regex`` matches somewhere in ``text``."""
        return f"regexp_matches({text}, {regex})"

    def regex_whole(self, text: str, body: str) -> str:
        """True when the regex ``body`` (RE2, literals escaped) matches all of ``text``."""
        return f"regexp_full_match({text}, {self.quote(f'(?s)^(?:{body})$')})"

    # ---- helpers ---------------------------------------------------------------------------
    def _field(self, name: str) -> schema.Field:
        try:
            return schema.field(name)
        except KeyError:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field '{name}' is not in the normalized schema (imagehunt/schema.py); "
                "map it in the pipeline or use an ECS field name"
            ) from None

    def _apply(self, name: str, predicate: Predicate) -> str:
        """Apply an element predicate to a column: any element for arrays; NULL means false."""
        fld = self._field(name)
        column = self.identifier(name)
        if fld.is_array:
            return f"coalesce({self.any_element(column, predicate('x'))}, false)"
        return f"coalesce({predicate(column)}, false)"

    def _as_text(self, fld: schema.Field, expr: str) -> str:
        if fld.kind in (schema.Kind.STRING, schema.Kind.STRINGS):
            return expr
        return f"CAST({expr} AS {self.text_type})"

    def _string_predicate(self, fld: schema.Field, value: SigmaString, cased: bool) -> Predicate:
        plain = affix_shape(value.s)
        if (
            fld.kind is schema.Kind.INTEGER
            and plain is not None
            and plain[0] == "eq"
            and canonical_integer(plain[1])
        ):
            number = int(plain[1])
            return lambda x: f"{x} = {number}"

        def text(x: str) -> str:
            t = self._as_text(fld, x)
            return t if cased else f"lower({t})"

        def lit(s: str) -> str:
            return self.quote(s if cased else s.lower())

        if plain is not None:
            kind, literal = plain
            if kind == "eq":
                return lambda x: f"{text(x)} = {lit(literal)}"
            function = self.affix_functions[kind]
            return lambda x: f"{function}({text(x)}, {lit(literal)})"
        pattern = _like_pattern(value)
        escape = self.quote("\\")
        return lambda x: f"{text(x)} LIKE {lit(pattern)} ESCAPE {escape}"

    # ---- leaves ----------------------------------------------------------------------------
    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        fld = self._field(cond.field)
        assert isinstance(cond.value, SigmaString)
        return self._apply(cond.field, self._string_predicate(fld, cond.value, cased=False))

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        fld = self._field(cond.field)
        assert isinstance(cond.value, SigmaCasedString)
        return self._apply(cond.field, self._string_predicate(fld, cond.value, cased=True))

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        fld = self._field(cond.field)
        assert isinstance(cond.value, SigmaNumber)
        number = cond.value.number
        if fld.kind is schema.Kind.INTEGER:
            return self._apply(cond.field, lambda x: f"{x} = {number}")
        return self._apply(
            cond.field, lambda x: f"{self._as_text(fld, x)} = {self.quote(str(number))}"
        )

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        fld = self._field(cond.field)
        assert isinstance(cond.value, SigmaRegularExpression)
        regex = cond.value
        flags = "".join(sorted(_RE2_FLAGS[f] for f in regex.flags))
        text = regex.regexp.to_plain()
        if fld.is_array and flags in ("", "i"):
            joined = element_regex_on_joined(text)
            if joined is not None:
                column = self.identifier(cond.field)
                search = self.regex_search(self.joined(column), self.regex_literal(joined, flags))
                return f"coalesce({self.size(column)} > 0 AND {search}, false)"
        literal = self.regex_literal(text, flags)
        return self._apply(cond.field, lambda x: self.regex_search(self._as_text(fld, x), literal))

    def _cidr_predicate(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Predicate:
        lo6, hi6 = _ipv6_bounds(network)
        v6 = f"BETWEEN '{lo6}' AND '{hi6}'"
        if isinstance(network, ipaddress.IPv4Network):
            lo, hi = int(network.network_address), int(network.broadcast_address)
            return lambda x: (
                f"({self.ipv4_function}({x}) BETWEEN {lo} AND {hi}"
                f" OR {self.ipv6_function}({x}) {v6})"
            )
        return lambda x: f"{self.ipv6_function}({x}) {v6}"

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        assert isinstance(cond.value, SigmaCIDRExpression)
        return self._apply(cond.field, self._cidr_predicate(cond.value.network))

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        fld = self._field(cond.field)
        assert isinstance(cond.value, SigmaCompareExpression)
        op = COMPARE_OPERATORS[cond.value.op]
        number = cond.value.number.number
        if fld.kind is schema.Kind.INTEGER:
            return self._apply(cond.field, lambda x: f"{x} {op} {number}")
        return self._apply(cond.field, lambda x: f"TRY_CAST({x} AS DOUBLE) {op} {number}")

    def _missing(self, name: str) -> str:
        fld = self._field(name)
        column = self.identifier(name)
        if fld.is_array:
            return f"({column} IS NULL OR {self.size(column)} = 0)"
        return f"({column} IS NULL)"

    def convert_condition_field_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return f"NOT {self._missing(cond.field)}"

    def convert_condition_field_not_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return self._missing(cond.field)

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        fld = self._field(cond.field)
        assert isinstance(cond.value, SigmaBool)
        word = "true" if cond.value.boolean else "false"
        return self._apply(cond.field, lambda x: f"lower({self._as_text(fld, x)}) = '{word}'")

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        """Keyword search: the value in any string field."""
        assert isinstance(cond.value, SigmaString)
        cased = isinstance(cond.value, SigmaCasedString)
        ors = [
            self._apply(f.name, self._string_predicate(f, cond.value, cased=cased))
            for f in schema.FIELDS
            if f.kind in (schema.Kind.STRING, schema.Kind.STRINGS)
        ]
        return "(" + " OR ".join(ors) + ")"

    def convert_condition_val_num(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        return self.convert_condition_val_str(
            ConditionValueExpression(SigmaString(str(cond.value))), state
        )

    # ---- OR of CIDR ranges -------------------------------------------------------------
    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        """An OR of CIDR ranges on one field parses the address once, then checks every range."""
        args = cond.args
        if len(args) > 1 and all(
            isinstance(a, ConditionFieldEqualsValueExpression)
            and isinstance(a.value, SigmaCIDRExpression)
            for a in args
        ):
            fields = {a.field for a in args}  # type: ignore[union-attr]
            if len(fields) == 1:
                name = fields.pop()
                self._field(name)
                networks = [a.value.network for a in args]  # type: ignore[union-attr]
                return self._apply(name, lambda x: self._cidr_any(x, networks))
        merged = self._merge_regexes(cond)
        if merged is None:
            return super().convert_condition_or(cond, state)
        if len(merged) == 1:
            return self.convert_condition(merged[0], state)
        return super().convert_condition_or(ConditionOR(merged), state)

    @staticmethod
    def _or_operands(cond: Any) -> list[Any]:
        if isinstance(cond, ConditionOR):
            return [leaf for arg in cond.args for leaf in DuckDBBackend._or_operands(arg)]
        return [cond]

    def _merge_regexes(self, cond: ConditionOR) -> list[Any] | None:
        """Regexes OR-ed on one field with the same flags become one alternation.

        ``re1 or re2`` on a text is ``(?:re1)|(?:re2)`` on it (RE2 has no back-references),
        and for arrays "some element matches re1 or some matches re2" is "some element
        matches either": one scan of the text instead of one per regex.
        """
        operands = self._or_operands(cond)
        groups: dict[tuple[str, frozenset[SigmaRegularExpressionFlag]], list[Any]] = {}
        for op in operands:
            if isinstance(op, ConditionFieldEqualsValueExpression) and isinstance(
                op.value, SigmaRegularExpression
            ):
                groups.setdefault((op.field, frozenset(op.value.flags)), []).append(op)
        if all(len(g) < 2 for g in groups.values()):
            return None
        merged: list[Any] = []
        done: set[int] = set()
        for op in operands:
            key = None
            if isinstance(op, ConditionFieldEqualsValueExpression) and isinstance(
                op.value, SigmaRegularExpression
            ):
                key = (op.field, frozenset(op.value.flags))
            if key is None or len(groups[key]) < 2:
                merged.append(op)
            elif id(groups[key][0]) not in done:
                done.add(id(groups[key][0]))
                pattern = "|".join(f"(?:{g.value.regexp.to_plain()})" for g in groups[key])
                value = SigmaRegularExpression(pattern, flags=set(key[1]))
                merged.append(ConditionFieldEqualsValueExpression(key[0], value))
        return merged

    def _cidr_any(
        self, x: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
    ) -> str:
        tests = []
        for network in networks:
            lo6, hi6 = _ipv6_bounds(network)
            if isinstance(network, ipaddress.IPv4Network):
                lo, hi = int(network.network_address), int(network.broadcast_address)
                tests.append(f"a.v4 BETWEEN {lo} AND {hi}")
            tests.append(f"a.v6 BETWEEN '{lo6}' AND '{hi6}'")
        checks = " OR ".join(tests)
        return (
            f"list_transform([{{'v4': {self.ipv4_function}({x}), "
            f"'v6': {self.ipv6_function}({x})}}], lambda a: {checks})[1]"
        )

    # ---- OR lists --------------------------------------------------------------------------
    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> str:
        """One field, many values: IN for exact values, one RE2 alternation for many patterns."""
        args: Sequence[ConditionFieldEqualsValueExpression] = cond.args  # type: ignore[assignment]
        name = args[0].field
        fld = self._field(name)
        exact_text: list[str] = []
        exact_numbers: list[int | float] = []
        patterns: list[SigmaString] = []
        for arg in args:
            value: Any = arg.value
            if isinstance(value, SigmaCasedString):
                patterns.append(value)
            elif isinstance(value, SigmaNumber):
                exact_numbers.append(value.number)
            elif isinstance(value, SigmaString):
                plain = affix_shape(value.s)
                if plain is not None and plain[0] == "eq":
                    if fld.kind is schema.Kind.INTEGER and canonical_integer(plain[1]):
                        exact_numbers.append(int(plain[1]))
                    else:
                        exact_text.append(plain[1])
                else:
                    patterns.append(value)
        ors: list[str] = []
        if exact_numbers:
            if fld.kind is schema.Kind.INTEGER:
                listed = ", ".join(str(n) for n in sorted(set(exact_numbers)))
                ors.append(self._apply(name, lambda x: f"{x} IN ({listed})"))
            else:
                exact_text.extend(str(n) for n in exact_numbers)
        if exact_text:
            listed = ", ".join(self.quote(v.lower()) for v in sorted(set(exact_text)))
            ors.append(self._apply(name, lambda x: f"lower({self._as_text(fld, x)}) IN ({listed})"))
        cased = [p for p in patterns if isinstance(p, SigmaCasedString)]
        folded = [p for p in patterns if not isinstance(p, SigmaCasedString)]
        for group, is_cased in ((cased, True), (folded, False)):
            if len(group) > REGEX_MERGE_THRESHOLD:
                body = "|".join(sigma_string_to_regex(p) for p in group)
                if not is_cased:
                    body = body.lower()
                ors.append(self._apply(name, self._whole_regex_predicate(fld, body, is_cased)))
            else:
                ors.extend(
                    self._apply(name, self._string_predicate(fld, p, cased=is_cased)) for p in group
                )
        if isinstance(cond, ConditionAND):
            return "(" + " AND ".join(ors) + ")"
        return ors[0] if len(ors) == 1 else "(" + " OR ".join(ors) + ")"

    def _whole_regex_predicate(self, fld: schema.Field, body: str, cased: bool) -> Predicate:
        def predicate(x: str) -> str:
            text = self._as_text(fld, x)
            return self.regex_whole(text if cased else f"lower({text})", body)

        return predicate
