"""IBM QRadar AQL target: one ``SELECT ... FROM events`` query per detection rule.

Semantics, chosen to mean in QRadar what ``imagehunt scan`` means (docs/targets.md):

* fields are mapped by ``pipelines/qradar.yml``; a field without a mapping fails the rule,
  naming the field and the file. Fields QRadar events never carry (``unavailable`` there) make
  a test that is false on every event: such a test is dropped from an OR, and a rule that
  cannot match without it fails with the field named;
* strings match case-insensitively (``ILIKE``) unless the rule says ``|cased`` (``=``,
  ``LIKE``). A value holding ``%``, ``_``, ``\\`` or a control character (which LIKE would
  read as a wildcard or escape) becomes an anchored Java regex for ``MATCHES`` instead;
* values are AQL string literals with ``'`` doubled: a value can never end its string;
* regexes: ``MATCHES`` with a Java regex meaning the same whether AQL searches or matches
  the whole value (``qradar_regex``); ``|i`` becomes ``(?iu)``;
* integer fields (``destinationport``) are compared as numbers, never as strings;
* CIDR: ``INCIDR('range', column)``; IPv6 ranges are tested on the field's IPv6 column
  (``destinationv6``), IPv4 ranges also on their IPv4-mapped form there;
* ``not selection`` is true when the field is missing: every leaf under a ``NOT`` is guarded
  with ``column IS NOT NULL``, so the guarded test is false, never null;
* the rule's log source becomes ``LOGSOURCETYPEID(logsourceid) IN (...)`` from the pipeline;
* the label column ``DetectionBranch`` is the rule's ``branch``: one query per rule, so a row
  matching several rules is returned by each rule's query with each label (no CASE);
* the correlation: AQL has no ordered, windowed sequence; the text gives one query per step
  and says how QRadar's rule engine must enforce order, window and group-by.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import re
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
)
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from sigma.exceptions import SigmaError, SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCIDRExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from imagehunt import safe_yaml, schema
from imagehunt.backends.negation import NegationDepth
from imagehunt.backends.qradar_regex import search_to_java, wildcard_to_java
from imagehunt.backends.sigma_values import integer_text, render
from imagehunt.backends.targets import conversion_error
from imagehunt.engine.correlate import correlation_steps
from imagehunt.errors import RuleError
from imagehunt.pipelines import placeholder_pipeline
from imagehunt.rulepack import PackRule, RulePack

FORMATS: tuple[str, ...] = ("aql",)
MAPPING_FILE = "src/imagehunt/pipelines/qradar.yml"
LOGSOURCE_TYPE = "LOGSOURCETYPEID(logsourceid)"
BASE_COLUMNS = (
    "DATEFORMAT(devicetime, 'yyyy-MM-dd HH:mm:ss') AS \"EventTime\"",
    'LOGSOURCENAME(logsourceid) AS "LogSource"',
    'QIDNAME(qid) AS "EventName"',
    "sourceip",
    "username",
)
ASSESSMENT_NOTE = (
    "The level of an alert of this rule is decided per event by imagehunt "
    "(assessment '{name}'); AQL cannot reproduce it: every row is reported at the rule's level."
)
_PLAIN_COLUMN = re.compile(r"[a-z][a-z0-9_]*")
_LIKE_UNSAFE = re.compile(r"[%_\\\x00-\x1f\x7f]")


@dataclass(frozen=True)
class QRadarMapping:
    """The contents of ``pipelines/qradar.yml``."""

    table: str
    window: str
    fields: dict[str, str]
    ipv6_columns: dict[str, str]
    unavailable: frozenset[str]
    logsource_types: dict[str, tuple[int, ...]]


@functools.cache
def mapping() -> QRadarMapping:
    """The QRadar field mapping, log source types and window (read once)."""
    text = (files("imagehunt") / "pipelines" / "qradar.yml").read_text(encoding="utf-8")
    data: dict[str, Any] = safe_yaml.load(text)
    return QRadarMapping(
        table=str(data["table"]),
        window=str(data["window"]),
        fields={str(k): str(v) for k, v in data["fields"].items()},
        ipv6_columns={str(k): str(v) for k, v in data["ipv6_columns"].items()},
        unavailable=frozenset(str(f) for f in data["unavailable"]),
        logsource_types={
            str(k): tuple(int(i) for i in v) for k, v in data["logsource_types"].items()
        },
    )


def aql_string(value: str) -> str:
    """``value`` as an AQL string literal (``'`` doubled; NUL rejected)."""
    if "\x00" in value:
        raise SigmaFeatureNotSupportedByBackendError("NUL character in a rule value")
    return "'" + value.replace("'", "''") + "'"


def aql_column(target: str) -> str:
    """A mapped name as AQL text: plain columns and function calls as they are, else quoted."""
    if _PLAIN_COLUMN.fullmatch(target) or "(" in target:
        return target
    if '"' in target:
        raise SigmaFeatureNotSupportedByBackendError(f"property name {target!r} has a quote")
    return f'"{target}"'


def _constant(cond: Any, unavailable: frozenset[str]) -> bool | None:
    """True/False when ``cond`` has that value on every QRadar event, else None."""
    if isinstance(cond, ConditionFieldEqualsValueExpression):
        if cond.field not in unavailable:
            return None
        value = cond.value
        missing = isinstance(value, SigmaNull) or (
            isinstance(value, SigmaExists) and not value.exists
        )
        return missing
    if isinstance(cond, ConditionNOT):
        inner = _constant(cond.args[0], unavailable)
        return None if inner is None else not inner
    if isinstance(cond, ConditionAND | ConditionOR):
        values = [_constant(a, unavailable) for a in cond.args]
        absorbing = isinstance(cond, ConditionOR)  # True absorbs an OR, False an AND
        if absorbing in values:
            return absorbing
        if all(v is (not absorbing) for v in values):
            return not absorbing
    return None


class QRadarBackend(NegationDepth):
    """pySigma backend producing AQL conditions over the mapped QRadar event properties."""

    name: ClassVar[str] = "imagehunt QRadar AQL"
    formats: ClassVar[dict[str, str]] = {"default": "AQL WHERE condition"}
    eq_token: ClassVar[str] = " = "
    str_quote: ClassVar[str] = "'"
    in_expressions_allow_wildcards: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mapping = mapping()
        self.columns: set[str] = set()

    # ---- fields ----------------------------------------------------------------------------
    def _column(self, name: str) -> str:
        """The AQL text of an ECS field; unmapped and unavailable fields raise."""
        if name in self.mapping.unavailable:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field '{name}' is not carried by QRadar events ({MAPPING_FILE}: unavailable) "
                "and the rule cannot match without it"
            )
        target = self.mapping.fields.get(name)
        if target is None:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field '{name}' has no QRadar mapping ({MAPPING_FILE}: fields)"
            )
        column = aql_column(target)
        self.columns.add(column)
        return column

    def _kind(self, name: str) -> schema.Kind:
        try:
            return schema.field(name).kind
        except KeyError:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field '{name}' is not in the normalized schema (imagehunt/schema.py)"
            ) from None

    def _v6(self, name: str) -> str | None:
        column = self.mapping.ipv6_columns.get(name)
        if column is not None:
            self.columns.add(column)
        return column

    def _leaf(self, columns: list[str], test: str) -> str:
        """A leaf test, guarded against missing columns when under a ``NOT``."""
        if not self._negations:
            return test
        present = " OR ".join(f"{c} IS NOT NULL" for c in columns)
        if len(columns) > 1:
            present = f"({present})"
        return f"({present} AND {test})"

    # ---- boolean structure -----------------------------------------------------------------
    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        """An OR without its operands that are false on every QRadar event."""
        kept = [a for a in cond.args if _constant(a, self.mapping.unavailable) is not False]
        if not kept:
            return self.convert_condition(cond.args[0], state)  # raises, naming the field
        if len(kept) == 1:
            return self.convert_condition(kept[0], state)
        if len(kept) < len(cond.args):
            return super().convert_condition_or(ConditionOR(kept), state)
        return super().convert_condition_or(cond, state)

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Any:
        """An AND without its operands that are true on every QRadar event."""
        kept = [a for a in cond.args if _constant(a, self.mapping.unavailable) is not True]
        if not kept:
            raise SigmaFeatureNotSupportedByBackendError("the condition is true on every event")
        if len(kept) == 1:
            return self.convert_condition(kept[0], state)
        if len(kept) < len(cond.args):
            return super().convert_condition_and(ConditionAND(kept), state)
        return super().convert_condition_and(cond, state)

    # ---- strings ---------------------------------------------------------------------------
    def _string_test(self, name: str, value: SigmaString, cased: bool) -> str:
        column = self._column(name)
        if self._kind(name) is schema.Kind.INTEGER:
            if isinstance(value, SigmaString) and integer_text(value) is not None:
                return f"{column} = {int(value.to_plain())}"
            raise SigmaFeatureNotSupportedByBackendError(
                f"text value {value.to_plain()!r} on the integer field '{name}'"
            )
        parts = list(value.s)
        literal = "".join(p for p in parts if isinstance(p, str))
        if _LIKE_UNSAFE.search(literal):
            regex = wildcard_to_java(value)
            return f"{column} MATCHES {aql_string(regex if cased else '(?iu)' + regex)}"
        if not value.contains_special():
            operator = "=" if cased else "ILIKE"
            return f"{column} {operator} {aql_string(literal)}"
        pattern = render(value, str, "%", "_")  # the literal holds no LIKE metacharacter
        return f"{column} {'LIKE' if cased else 'ILIKE'} {aql_string(pattern)}"

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        test = self._string_test(cond.field, cond.value, cased=False)
        return self._leaf([self._column(cond.field)], test)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        test = self._string_test(cond.field, cond.value, cased=True)
        return self._leaf([self._column(cond.field)], test)

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaNumber)
        column = self._column(cond.field)
        number = cond.value.number
        if self._kind(cond.field) is schema.Kind.INTEGER:
            return self._leaf([column], f"{column} = {number}")
        test = self._string_test(cond.field, SigmaString(str(number)), cased=False)
        return self._leaf([column], test)

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaBool)
        column = self._column(cond.field)
        word = "true" if cond.value.boolean else "false"
        return self._leaf([column], f"{column} ILIKE '{word}'")

    # ---- regex, CIDR, comparisons, existence -----------------------------------------------
    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaRegularExpression)
        column = self._column(cond.field)
        flags = cond.value.flags
        if SigmaRegularExpressionFlag.MULTILINE in flags:
            raise SigmaFeatureNotSupportedByBackendError("regex flag m is not supported")
        regex = search_to_java(
            cond.value.regexp.to_plain(),
            ignore_case=SigmaRegularExpressionFlag.IGNORECASE in flags,
            dotall=SigmaRegularExpressionFlag.DOTALL in flags,
        )
        return self._leaf([column], f"{column} MATCHES {aql_string(regex)}")

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaCIDRExpression)
        network = cond.value.network
        column, v6 = self._column(cond.field), self._v6(cond.field)
        tests: list[tuple[str, str]] = []
        if isinstance(network, ipaddress.IPv4Network):
            tests.append((column, str(network)))
            if v6 is not None:
                mapped = f"::ffff:{network.network_address}/{96 + network.prefixlen}"
                tests.append((v6, mapped))
        elif v6 is None:
            raise SigmaFeatureNotSupportedByBackendError(
                f"IPv6 range {network} on '{cond.field}', which has no IPv6 column "
                f"({MAPPING_FILE}: ipv6_columns)"
            )
        else:
            tests.append((v6, str(network)))
        parts = [self._leaf([c], f"INCIDR({aql_string(r)}, {c})") for c, r in tests]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        column = self._column(cond.field)
        comparison = self._integer_comparison(cond, self._kind(cond.field) is schema.Kind.INTEGER)
        return self._leaf([column], f"{column} {comparison}")

    def _columns_of(self, name: str) -> list[str]:
        v6 = self._v6(name)
        return [self._column(name)] + ([v6] if v6 is not None else [])

    def convert_condition_field_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        tests = [f"{c} IS NOT NULL" for c in self._columns_of(cond.field)]
        return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"

    def convert_condition_field_not_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        tests = [f"{c} IS NULL" for c in self._columns_of(cond.field)]
        return tests[0] if len(tests) == 1 else "(" + " AND ".join(tests) + ")"

    # ---- lists -----------------------------------------------------------------------------
    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        """``IN`` only for integers on an integer field: every other list is an OR of tests."""
        if not super().decide_convert_condition_as_in_expression(cond, state):
            return False
        first = cond.args[0]
        assert isinstance(first, ConditionFieldEqualsValueExpression)
        if first.field in self.mapping.unavailable or first.field not in schema.BY_NAME:
            return False
        if self._kind(first.field) is not schema.Kind.INTEGER:
            return False
        return all(
            isinstance(a, ConditionFieldEqualsValueExpression)
            and (
                (isinstance(a.value, SigmaNumber) and isinstance(a.value.number, int))
                or (isinstance(a.value, SigmaString) and integer_text(a.value) is not None)
            )
            for a in cond.args
        )

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> str:
        """``column IN (n, ...)`` with the numbers sorted and unique."""
        args = [a for a in cond.args if isinstance(a, ConditionFieldEqualsValueExpression)]
        column = self._column(args[0].field)
        numbers = sorted({int(str(a.value)) for a in args})
        return self._leaf([column], f"{column} IN ({', '.join(str(n) for n in numbers)})")


# ---- queries -------------------------------------------------------------------------------
def _fail(rule: PackRule, message: str) -> RuleError:
    return conversion_error(rule, "QRadar AQL", message)


def _logsource_key(sigma: SigmaRule) -> str:
    source = sigma.logsource
    if source.category and source.category in mapping().logsource_types:
        return source.category
    return f"{source.product}/{source.service}"


def logsource_filter(rule: PackRule) -> str:
    """``LOGSOURCETYPEID(logsourceid) IN (...)`` for the rule's Sigma log source."""
    assert isinstance(rule.sigma, SigmaRule)
    key = _logsource_key(rule.sigma)
    types = mapping().logsource_types.get(key)
    if not types:
        raise _fail(rule, f"log source '{key}' has no QRadar log source types ({MAPPING_FILE})")
    return f"{LOGSOURCE_TYPE} IN ({', '.join(str(t) for t in types)})"


def condition_of(
    rule: PackRule, pipeline: ProcessingPipeline | None = None
) -> tuple[str, set[str]]:
    """(AQL condition, columns it reads) of a detection rule, log source filter included.

    ``pipeline`` only expands indicator placeholders (default: the pack's lists).
    """
    if rule.context_only:
        raise _fail(rule, "context rule: not a detection (it never alerts, only feeds others)")
    if not isinstance(rule.sigma, SigmaRule):
        raise _fail(rule, "not a detection rule")
    sigma = copy.deepcopy(rule.sigma)
    backend = QRadarBackend(pipeline or placeholder_pipeline())
    try:
        queries = backend.convert_rule(sigma)
    except (SigmaError, NotImplementedError) as exc:
        raise _fail(rule, str(exc)) from None
    if not queries:
        raise _fail(rule, "the rule converted to no query")
    body = queries[0] if len(queries) == 1 else " OR ".join(f"({q})" for q in queries)
    return f"{logsource_filter(rule)}\n  AND ({body})", backend.columns


def _select(columns: set[str], labels: list[str]) -> str:
    extra = sorted(c for c in columns if "(" not in c)
    return "SELECT\n  " + ",\n  ".join([*BASE_COLUMNS, *extra, *labels])


def _query(condition: str, columns: set[str], labels: list[str]) -> str:
    table, window = mapping().table, mapping().window
    return (
        f"{_select(columns, labels)}\nFROM {table}\nWHERE {condition}\n"
        f"ORDER BY devicetime DESC\n{window}"
    )


def _comment(lines: list[str]) -> str:
    text = "\n   ".join(line.replace("*/", "* /") for line in lines)
    return f"/* {text} */\n"


def detection_query(rule: PackRule) -> str:
    """The AQL query of one detection rule, with a comment naming it."""
    condition, columns = condition_of(rule)
    label = f'{aql_string(rule.ref.branch)} AS "DetectionBranch"'
    notes = [f"{rule.name} ({rule.ref.level}): {rule.ref.title}"]
    if rule.assessment:
        notes.append(ASSESSMENT_NOTE.format(name=rule.assessment))
    return _comment(notes) + _query(condition, columns, [label])


def _span(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


def correlation_query(rule: PackRule, pack: RulePack) -> str:
    """One query per step of a temporal correlation, with the CRE recipe in a comment."""
    sigma = rule.sigma
    assert isinstance(sigma, SigmaCorrelationRule)
    steps = correlation_steps(rule, pack)
    by_id = {r.id: r for r in pack.rules}
    groups = list(sigma.group_by or [])
    group_columns = [aql_column(mapping().fields.get(g, g)) for g in groups]
    for name in groups:
        if name not in mapping().fields:
            raise _fail(rule, f"group-by field '{name}' has no QRadar mapping ({MAPPING_FILE})")
    span = _span(int(sigma.timespan.seconds))
    ordered = (
        "in this order" if sigma.type is SigmaCorrelationType.TEMPORAL_ORDERED else "in any order"
    )
    step_names = [" or ".join(by_id[i].name for i in step) for step in steps]
    notes = [
        f"{rule.name} ({rule.ref.level}): {rule.ref.title}",
        "AQL cannot express this correlation: it has no ordered sequence and no self-join",
        f"in a time window. The {len(steps)} step queries below select each step's events;",
        "QRadar's Custom Rule Engine must enforce the rest: make one building block per step",
        "from its query's WHERE condition, then an event rule with the test",
        f"'when all of these building blocks are detected {ordered}",
        f"with the same {', '.join(group_columns)} within {span}'.",
        "Not expressible at all here: the escalation to "
        f"{rule.escalate_same_process or rule.ref.level} when one process did every step.",
    ]
    parts = [_comment(notes).rstrip("\n")]
    for index, step in enumerate(steps, start=1):
        conditions, columns = [], set(group_columns)
        for rule_id in step:
            condition, used = condition_of(by_id[rule_id])
            conditions.append(f"({condition})")
            columns |= used
        labels = [
            f'{aql_string(rule.ref.branch)} AS "DetectionBranch"',
            f'{index} AS "Step"',
        ]
        head = _comment([f"step {index} of {len(steps)}: {step_names[index - 1]}"])
        parts.append(head + _query("\n  OR ".join(conditions), columns, labels))
    return "\n\n".join(parts)


def convert(rule: PackRule, pack: RulePack, fmt: str) -> str:
    """The rule as AQL (``fmt`` is ``aql``); RuleError with file and line when impossible."""
    if fmt not in FORMATS:
        raise _fail(rule, f"unknown format '{fmt}' (known: {', '.join(FORMATS)})")
    if rule.is_correlation:
        return correlation_query(rule, pack)
    return detection_query(rule)
