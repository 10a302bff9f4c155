"""Elastic ES|QL target: ``FROM logs-* | WHERE <condition>`` per detection rule.

Field names are ECS, native in Elastic: :data:`FIELD_MAPPING` is the identity over the
schema (imagehunt/schema.py); a field outside it fails the rule. Semantics kept from the scan:

* strings match case-insensitively: ``TO_LOWER(f) == "v"``, ``TO_LOWER(f) IN (...)``,
  ``TO_LOWER(f) LIKE "p*"`` with lower-cased values; ``|cased`` keeps ``==``/``LIKE``;
* regexes are Lucene whole-string ``RLIKE`` patterns (``eql_regex``); ``|i`` lower-cases the
  subject and the pattern's literals (classes already carry both cases);
* multi-valued (array) fields: ES|QL comparisons return null on several values, so "any
  element matches" is ``MV_CONCAT(f, "\\n") RLIKE "(.*\\n)?(P)(\\n.*)?"`` with ``P`` unable to
  match a newline (``esql_text.element_regex``); exact values and wildcards become such
  patterns too. An element containing a newline is tested line by line (accepted difference);
* CIDR: ``CIDR_MATCH(f, "net", ...)`` (IPv4 and IPv6); integers compare as numbers;
* under a ``not`` each leaf is ``(f IS NOT NULL AND test)``: null never hides a missing field;
* correlations fail (ES|QL has no sequences: use the ``eql`` target), context rules fail,
  assessment rules convert with a comment that the level is decided per event by imagehunt.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionOR,
)
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaError, SigmaFeatureNotSupportedByBackendError
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
)

from imagehunt import schema
from imagehunt.backends.eql_regex import sigma_value_to_lucene
from imagehunt.backends.esql_text import (
    SEPARATOR,
    element_regex,
    esql_string,
    joined_regex,
    like_literal,
    lower_outside_classes,
    lucene_literal,
)
from imagehunt.backends.negation import NegationDepth
from imagehunt.backends.sigma_values import exact_text, integer_text, render
from imagehunt.backends.targets import conversion_error
from imagehunt.errors import RuleError
from imagehunt.pipelines import load_pipeline
from imagehunt.rulepack import PackRule, RulePack

FORMATS: tuple[str, ...] = ("esql",)
INDEX_PATTERN = "logs-*"
# Kibana's ES|QL rules need these on a non-aggregating query to deduplicate alerts.
METADATA = "METADATA _id, _index, _version"
# ECS is Elastic's own schema: every normalized field keeps its name (vendor docs:
# https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html).
FIELD_MAPPING: dict[str, str] = {f.name: f.name for f in schema.FIELDS}
MAPPING_NAME = "ES|QL field mapping (ECS names, imagehunt/schema.py)"
ASSESSMENT_NOTE = (
    "The level of an alert of this rule is decided per event by imagehunt "
    "(assessment '{name}'); ES|QL reports every match at the rule's level."
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def field_ref(name: str) -> str:
    """A field as an ES|QL identifier (back-quoted unless a plain dotted name)."""
    if _IDENTIFIER.fullmatch(name):
        return name
    return "`" + name.replace("`", "``") + "`"


class EsqlBackend(NegationDepth):
    """pySigma backend producing ES|QL boolean expressions over ECS fields."""

    name: ClassVar[str] = "imagehunt Elastic ES|QL"
    formats: ClassVar[dict[str, str]] = {"default": "ES|QL WHERE expression"}
    eq_token: ClassVar[str] = " == "

    # ---- helpers ---------------------------------------------------------------------------
    def _field(self, name: str) -> schema.Field:
        if name not in FIELD_MAPPING:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field '{name}' is not in the {MAPPING_NAME}"
            )
        return schema.field(name)

    def _leaf(self, name: str, test: str) -> str:
        """A test, guarded against a missing field when under a ``not``."""
        if self._negations:
            return f"({field_ref(name)} IS NOT NULL AND {test})"
        return test

    def _array_test(self, name: str, element_pattern: str, ignore_case: bool) -> str:
        """Any element of an array field matches a whole-string Lucene pattern."""
        pattern = joined_regex(element_regex(element_pattern, name))
        subject = f"MV_CONCAT({field_ref(name)}, {esql_string(SEPARATOR)})"
        if ignore_case:
            subject = f"TO_LOWER({subject})"
            pattern = lower_outside_classes(pattern)
        return f"{subject} RLIKE {esql_string(pattern)}"

    def _string_tests(
        self, name: str, values: Sequence[SigmaString], cased: bool = False
    ) -> list[str]:
        """Tests of one field against string values (any of them); ``cased`` forces case."""
        fld = self._field(name)
        if fld.kind is schema.Kind.INTEGER:
            return [self._integer_test(name, values)]
        flags = [cased or isinstance(v, SigmaCasedString) for v in values]
        if fld.is_array:
            return [
                self._array_string_test(
                    name, [v for v, f in zip(values, flags, strict=True) if f == c], c
                )
                for c in (False, True)
                if c in flags
            ]
        return self._scalar_string_tests(name, list(zip(values, flags, strict=True)))

    def _integer_test(self, name: str, values: Sequence[Any]) -> str:
        numbers = []
        for value in values:
            text = integer_text(value)
            if text is None:
                raise SigmaFeatureNotSupportedByBackendError(
                    f"value {value!s} on the integer field '{name}' is no integer"
                )
            numbers.append(text)
        numbers = list(dict.fromkeys(numbers))
        if len(numbers) == 1:
            return f"{field_ref(name)} == {numbers[0]}"
        return f"{field_ref(name)} IN ({', '.join(numbers)})"

    def _array_string_test(self, name: str, values: Sequence[SigmaString], cased: bool) -> str:
        union = "|".join(dict.fromkeys(render(v, lucene_literal, ".*", ".") for v in values))
        return self._array_test(name, f"({union})", ignore_case=not cased)

    def _scalar_string_tests(
        self, name: str, values: Sequence[tuple[SigmaString, bool]]
    ) -> list[str]:
        exact: dict[bool, list[str]] = {False: [], True: []}
        likes: list[str] = []
        ref = field_ref(name)
        for value, cased in values:
            text = exact_text(value)
            if text is not None:
                exact[cased].append(text if cased else text.lower())
                continue
            pattern = render(value, like_literal, "*", "?")
            subject = ref if cased else f"TO_LOWER({ref})"
            likes.append(f"{subject} LIKE {esql_string(pattern if cased else pattern.lower())}")
        tests = []
        for cased, texts in exact.items():
            subject = ref if cased else f"TO_LOWER({ref})"
            items = [esql_string(t) for t in dict.fromkeys(texts)]
            if len(items) == 1:
                tests.append(f"{subject} == {items[0]}")
            elif items:
                tests.append(f"{subject} IN ({', '.join(items)})")
        return tests + likes

    def _joined(self, name: str, tests: list[str]) -> str:
        if len(tests) == 1:
            return self._leaf(name, tests[0])
        return self._leaf(name, "(" + " OR ".join(tests) + ")")

    # ---- leaves ----------------------------------------------------------------------------
    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        return self._joined(cond.field, self._string_tests(cond.field, [cond.value]))

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        return self._joined(cond.field, self._string_tests(cond.field, [cond.value], cased=True))

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        fld = self._field(cond.field)
        assert isinstance(cond.value, SigmaNumber)
        if fld.kind is schema.Kind.INTEGER:
            return self._leaf(cond.field, self._integer_test(cond.field, [cond.value]))
        text = SigmaString(str(cond.value.number))
        return self._joined(cond.field, self._string_tests(cond.field, [text]))

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        fld = self._field(cond.field)
        assert isinstance(cond.value, SigmaRegularExpression)
        lucene, ignore_case = sigma_value_to_lucene(cond.value)
        if fld.is_array:
            return self._leaf(cond.field, self._array_test(cond.field, lucene, ignore_case))
        ref = field_ref(cond.field)
        if ignore_case:
            test = f"TO_LOWER({ref}) RLIKE {esql_string(lower_outside_classes(lucene))}"
        else:
            test = f"{ref} RLIKE {esql_string(lucene)}"
        return self._leaf(cond.field, test)

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        assert isinstance(cond.value, SigmaCIDRExpression)
        network = esql_string(str(cond.value.network))
        return self._leaf(cond.field, f"CIDR_MATCH({field_ref(cond.field)}, {network})")

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        integer_field = self._field(cond.field).kind is schema.Kind.INTEGER
        comparison = self._integer_comparison(cond, integer_field)
        return self._leaf(cond.field, f"{field_ref(cond.field)} {comparison}")

    def convert_condition_field_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        return f"{field_ref(cond.field)} IS NOT NULL"

    def convert_condition_field_not_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        return f"{field_ref(cond.field)} IS NULL"

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        assert isinstance(cond.value, SigmaBool)
        text = SigmaString("true" if cond.value.boolean else "false")
        return self._joined(cond.field, self._string_tests(cond.field, [text]))

    # ---- OR lists --------------------------------------------------------------------------
    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> str:
        """One field, many values: grouped into IN lists, LIKEs or one joined regex."""
        args: Sequence[ConditionFieldEqualsValueExpression] = cond.args  # type: ignore[assignment]
        name = args[0].field
        values = [
            a.value if isinstance(a.value, SigmaString) else SigmaString(str(a.value)) for a in args
        ]
        if self._field(name).kind is schema.Kind.INTEGER:
            return self._leaf(name, self._integer_test(name, [a.value for a in args]))
        return self._joined(name, self._string_tests(name, values))


def _fail(rule: PackRule, message: str) -> RuleError:
    return conversion_error(rule, "ES|QL", message)


def condition_of(rule: PackRule, backend: EsqlBackend | None = None) -> str:
    """The WHERE expression of a detection rule (its Sigma conditions OR-ed)."""
    if rule.is_correlation:
        raise _fail(
            rule,
            "ES|QL has no ordered, windowed sequences of events; "
            "convert this correlation with the 'eql' target (sequence by ... with maxspan)",
        )
    if rule.context_only:
        raise _fail(rule, "context rule: not a detection (it never alerts, only feeds others)")
    sigma = copy.deepcopy(rule.sigma)
    assert isinstance(sigma, SigmaRule)
    backend = backend or EsqlBackend(load_pipeline("ecs"))
    try:
        queries = backend.convert_rule(sigma)
    except (SigmaError, NotImplementedError) as exc:
        raise _fail(rule, str(exc)) from None
    if not queries:
        raise _fail(rule, "the rule converted to no query")
    return queries[0] if len(queries) == 1 else " OR ".join(f"({q})" for q in queries)


def convert_rule(rule: PackRule, backend: EsqlBackend | None = None) -> str:
    """The ES|QL query of one rule, with comments naming it."""
    condition = condition_of(rule, backend)
    lines = [f"// {rule.name} ({rule.ref.level}): {rule.ref.title}"]
    if rule.assessment:
        lines.append("// " + ASSESSMENT_NOTE.format(name=rule.assessment))
    lines += [f"FROM {INDEX_PATTERN} {METADATA}", f"| WHERE {condition}"]
    return "\n".join(lines)


def convert(rule: PackRule, pack: RulePack, fmt: str) -> str:
    """The target's converter (``fmt`` is ``esql``)."""
    if fmt not in FORMATS:
        raise _fail(rule, f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return convert_rule(rule)
