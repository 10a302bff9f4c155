"""Microsoft Sentinel KQL target: one ``Table | where <condition>`` query per detection rule.

Tables and columns come from ``pipelines/sentinel_asim.yml`` (ASIM parsers imProcessCreate,
imNetworkSession, imDns; the AWSCloudTrail table). Semantics kept from ``imagehunt scan``:

* columns are identifiers, never strings; values are KQL string literals with ``\\``, ``"``
  and ``\\n \\r \\t`` escaped (other control characters fail the rule);
* strings match case-insensitively (``=~``, ``in~``, ``startswith``, ``endswith``,
  ``contains``, ``matches regex "(?i)..."``) unless ``|cased`` (``==``, ``in``, ``*_cs``);
* regexes are RE2 in both Sigma and Kusto; ``matches regex`` finds a match anywhere, so
  wildcard values are anchored ``^...$``;
* ``basename`` columns (ASIM ``*ProcessName`` may be a path): a value matches the whole
  column or its last path component; ``tokens`` columns (``process.args`` on the command
  line): a value matches one space-separated token, anchors ``^``/``$`` of a regex become
  token boundaries;
* CIDR: ``ipv4_is_in_range`` for IPv4 ranges plus ``ipv6_is_in_range`` on their
  IPv4-mapped form, ``ipv6_is_in_range`` for IPv6 ranges, each ``coalesce``-d to false (they
  return null for an address of the other family);
* NOT and missing values: under a ``not`` every leaf is ``(isnotempty(col) and test)``, so
  ``not selection`` is true when the column is empty;
* an ECS field with no column for the rule's table fails the rule, naming field and table.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Sequence
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
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from imagehunt import schema
from imagehunt.backends.kql_mapping import MAPPING_FILE, Column, Table, load_mapping, table_key
from imagehunt.backends.negation import NegationDepth
from imagehunt.backends.sigma_values import affix_shape, canonical_integer, render, string_parts
from imagehunt.backends.targets import conversion_error, short_span
from imagehunt.engine.correlate import correlation_steps
from imagehunt.errors import RuleError
from imagehunt.pipelines import placeholder_pipeline
from imagehunt.portable_regex import regex_escape
from imagehunt.rulepack import PackRule, RulePack

FORMATS: tuple[str, ...] = ("kql",)
ASSESSMENT_NOTE = (
    "level decided per event by imagehunt (assessment '{name}'); "
    "KQL reports every match at the rule's level"
)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}
_PATH_START = r"(^|[/\\])"
_TOKEN_START, _TOKEN_END = r"(^|\s)", r"(\s|$)"


def kql_string(value: str) -> str:
    """``value`` as a KQL double-quoted string literal."""
    for char in value:
        if ord(char) < 32 and char not in _ESCAPES:
            raise SigmaFeatureNotSupportedByBackendError(
                f"control character {char!r} in a rule value"
            )
    return '"' + "".join(_ESCAPES.get(c, c) for c in value) + '"'


def _shape(value: SigmaString) -> tuple[str, str] | None:
    """(eq|prefix|suffix|contains, literal) for values with ``*`` only at the ends, else None."""
    return affix_shape(string_parts(value))


def wildcard_regex(value: SigmaString, any_char: str = ".") -> str:
    """RE2 body of a Sigma wildcard value (literal parts escaped)."""
    return render(value, regex_escape, any_char + "*", any_char)


def _reanchor(pattern: str, start: str, end: str) -> str:
    """Replace a leading ``^`` and a trailing unescaped ``$`` by other anchors."""
    pattern = f"{start}(" + pattern[1:] if pattern.startswith("^") else "(" + pattern
    escapes = len(pattern[:-1]) - len(pattern[:-1].rstrip("\\"))
    if pattern.endswith("$") and escapes % 2 == 0:
        return pattern[:-1] + f"){end}"
    return pattern + ")"


class KqlBackend(NegationDepth):
    """pySigma backend producing KQL ``where`` conditions over one table's columns."""

    name: ClassVar[str] = "imagehunt Sentinel KQL"
    formats: ClassVar[dict[str, str]] = {"default": "KQL condition"}
    or_token: ClassVar[str] = "or"
    and_token: ClassVar[str] = "and"
    not_token: ClassVar[str] = "not"
    eq_token: ClassVar[str] = " =~ "
    field_in_list_expression: ClassVar[str] = "{field} in~ ({list})"

    def __init__(self, table: Table, pipeline: ProcessingPipeline | None = None) -> None:
        super().__init__(pipeline if pipeline is not None else placeholder_pipeline())
        self.table = table

    # ---- helpers ---------------------------------------------------------------------------
    def _column(self, ecs: str, presence: bool = False) -> Column:
        column = self.table.fields.get(ecs)
        if column is None:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field '{ecs}' has no column in table {self.table.name} "
                f"(mapping '{self.table.key}' of {MAPPING_FILE})"
            )
        if column.form == "json_key" and not presence:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field '{ecs}' is a key inside the JSON of {column.name} "
                f"(mapping '{self.table.key}' of {MAPPING_FILE}): only exists tests convert"
            )
        return column

    def _present(self, ecs: str) -> str:
        """KQL that holds when the field has a value."""
        column = self._column(ecs, presence=True)
        if column.form == "json_key":
            # the key in any element: the compact JSON text of the array holds "key":
            pattern = kql_string(f'"{column.key}"\\s*:')
            return f"tostring(parse_json({column.name}).{column.path}) matches regex {pattern}"
        return f"isnotempty({column.name})"

    def _integer(self, ecs: str) -> bool:
        return ecs in schema.BY_NAME and schema.field(ecs).kind is schema.Kind.INTEGER

    def _leaf(self, column: Column, test: str, ecs: str = "") -> str:
        """Guard a test of a non-string column under a ``not`` (KQL strings are never null)."""
        strings = (schema.Kind.STRING, schema.Kind.STRINGS)
        nullable = ecs in schema.BY_NAME and schema.field(ecs).kind not in strings
        if self._negations and nullable:
            return f"(isnotempty({column.name}) and {test})"
        return test

    def _regex_test(self, column: Column, body: str, flags: str) -> str:
        prefix = f"(?{flags})" if flags else ""
        return f"{column.name} matches regex {kql_string(prefix + body)}"

    def _form_regex(self, column: Column, bodies: Sequence[str], cased: bool) -> str:
        """One anchored alternation for basename and tokens columns."""
        body = "|".join(bodies)
        if column.form == "basename":
            pattern = f"{_PATH_START}({body})$"
        else:
            pattern = f"{_TOKEN_START}({body}){_TOKEN_END}"
        return self._regex_test(column, pattern, "s" if cased else "is")

    def _form_body(self, column: Column, value: SigmaString) -> str:
        return wildcard_regex(value, r"\S" if column.form == "tokens" else "[^/\\\\]")

    def _string_test(self, ecs: str, value: SigmaString, cased: bool) -> str:
        column = self._column(ecs)
        shape = _shape(value)
        if self._integer(ecs):
            if shape is None or shape[0] != "eq" or not canonical_integer(shape[1]):
                raise SigmaFeatureNotSupportedByBackendError(
                    f"text value {value.to_plain()!r} on the integer field '{ecs}'"
                )
            return f"{column.name} == {int(shape[1])}"
        if column.form != "plain":
            return self._form_regex(column, [self._form_body(column, value)], cased)
        suffix = "_cs" if cased else ""
        if shape is None:
            return self._regex_test(column, f"^{wildcard_regex(value)}$", "s" if cased else "is")
        kind, literal = shape
        operator = {
            "eq": "==" if cased else "=~",
            "prefix": "startswith" + suffix,
            "suffix": "endswith" + suffix,
            "contains": "contains" + suffix,
        }[kind]
        return f"{column.name} {operator} {kql_string(literal)}"

    # ---- leaves ----------------------------------------------------------------------------
    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        return f"not({self.convert_negated(cond, state)})"

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        test = self._string_test(cond.field, cond.value, cased=False)
        return self._leaf(self._column(cond.field), test, cond.field)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        test = self._string_test(cond.field, cond.value, cased=True)
        return self._leaf(self._column(cond.field), test, cond.field)

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaNumber)
        return self.convert_condition_field_eq_val_str(
            ConditionFieldEqualsValueExpression(cond.field, SigmaString(str(cond.value.number))),
            state,
        )

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        column = self._column(cond.field)
        assert isinstance(cond.value, SigmaRegularExpression)
        flags = "".join(sorted(_FLAGS[f] for f in cond.value.flags))
        pattern = cond.value.regexp.to_plain()
        if column.form == "tokens":
            pattern = _reanchor(pattern, _TOKEN_START, _TOKEN_END)
        elif column.form == "basename":
            pattern = _reanchor(pattern, _PATH_START, "$")
        return self._leaf(column, self._regex_test(column, pattern, flags), cond.field)

    def _cidr_test(self, column: Column, network: Any) -> str:
        if isinstance(network, ipaddress.IPv4Network):
            address = int(network.network_address)
            mapped_range = f"::ffff:{address >> 16:x}:{address & 0xFFFF:x}/{96 + network.prefixlen}"
            return (
                f"coalesce(ipv4_is_in_range({column.name}, {kql_string(str(network))}), false)"
                f" or coalesce(ipv6_is_in_range({column.name}, {kql_string(mapped_range)}),"
                " false)"
            )
        return f"coalesce(ipv6_is_in_range({column.name}, {kql_string(str(network))}), false)"

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        column = self._column(cond.field)
        assert isinstance(cond.value, SigmaCIDRExpression)
        return f"({self._cidr_test(column, cond.value.network)})"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        column = self._column(cond.field)
        comparison = self._integer_comparison(cond, self._integer(cond.field))
        return self._leaf(column, f"{column.name} {comparison}", cond.field)

    def convert_condition_field_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return self._present(cond.field)

    def convert_condition_field_not_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return f"not({self._present(cond.field)})"

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        column = self._column(cond.field)
        assert isinstance(cond.value, SigmaBool)
        word = "true" if cond.value.boolean else "false"
        return self._leaf(column, f"tostring({column.name}) =~ {kql_string(word)}", cond.field)

    # ---- OR lists --------------------------------------------------------------------------
    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> str:
        """One field, many values: ``in~``/``in`` lists, one regex for path or token columns."""
        args: Sequence[ConditionFieldEqualsValueExpression] = cond.args  # type: ignore[assignment]
        ecs = args[0].field
        column = self._column(ecs)
        values = [
            a.value if isinstance(a.value, SigmaString) else SigmaString(str(a.value)) for a in args
        ]
        tests = self._list_tests(ecs, column, values)
        test = tests[0] if len(tests) == 1 else "(" + " or ".join(tests) + ")"
        return self._leaf(column, test, ecs)

    def _list_tests(self, ecs: str, column: Column, values: Sequence[SigmaString]) -> list[str]:
        if self._integer(ecs):
            numbers = []
            for value in values:
                shape = _shape(value)
                if shape is None or shape[0] != "eq" or not canonical_integer(shape[1]):
                    raise SigmaFeatureNotSupportedByBackendError(
                        f"value {value.to_plain()!r} on the integer field '{ecs}' is no integer"
                    )
                numbers.append(str(int(shape[1])))
            return [f"{column.name} in ({', '.join(dict.fromkeys(numbers))})"]
        tests: list[str] = []
        for cased in (False, True):
            group = [v for v in values if isinstance(v, SigmaCasedString) == cased]
            if group:
                tests.extend(self._group_tests(ecs, column, group, cased))
        return tests

    def _group_tests(
        self, ecs: str, column: Column, values: Sequence[SigmaString], cased: bool
    ) -> list[str]:
        if column.form != "plain":
            bodies = [self._form_body(column, v) for v in values]
            return [self._form_regex(column, list(dict.fromkeys(bodies)), cased)]
        exact = [s[1] for s in map(_shape, values) if s is not None and s[0] == "eq"]
        rest = [v for v in values if (s := _shape(v)) is None or s[0] != "eq"]
        tests = []
        if exact:
            listed = ", ".join(kql_string(v) for v in dict.fromkeys(exact))
            tests.append(f"{column.name} {'in' if cased else 'in~'} ({listed})")
        tests.extend(self._string_test(ecs, v, cased) for v in rest)
        return tests


# ---- rules -----------------------------------------------------------------------------------
def _fail(rule: PackRule, message: str) -> RuleError:
    return conversion_error(rule, "KQL", message)


def rule_table(rule: PackRule) -> Table:
    """The table a detection rule's log source reads, or RuleError."""
    sigma = rule.sigma
    assert isinstance(sigma, SigmaRule)
    key = table_key(sigma.logsource)
    if key is None:
        source = sigma.logsource
        raise _fail(
            rule,
            f"no table for log source (category={source.category}, product={source.product}, "
            f"service={source.service}) in {MAPPING_FILE}",
        )
    return load_mapping().tables[key]


def condition_of(rule: PackRule, pipeline: ProcessingPipeline | None = None) -> tuple[Table, str]:
    """(table, where-condition) of a detection rule; its Sigma conditions are OR-ed."""
    if rule.context_only:
        raise _fail(rule, "context rule: not a detection (it never alerts, only feeds others)")
    if not isinstance(rule.sigma, SigmaRule):
        raise _fail(rule, "not a detection rule")
    table = rule_table(rule)
    backend = KqlBackend(table, pipeline)
    try:
        queries = backend.convert_rule(copy.deepcopy(rule.sigma))
    except (SigmaError, NotImplementedError) as exc:
        raise _fail(rule, str(exc)) from None
    if not queries:
        raise _fail(rule, "the rule converted to no query")
    text = queries[0] if len(queries) == 1 else " or ".join(f"({q})" for q in queries)
    return table, str(text)


def _comment(rule: PackRule) -> str:
    title = " ".join(rule.ref.title.split())
    note = f"// {rule.name} ({rule.ref.level}): {title}\n"
    if rule.assessment:
        note += f"// {ASSESSMENT_NOTE.format(name=rule.assessment)}\n"
    return note


def _step(index: int, rules: Sequence[PackRule], keys: dict[str, str]) -> str:
    """``let StepN = ...;``: the rows of one step, with time, group columns and process id."""
    by_table: dict[str, tuple[Table, list[str]]] = {}
    for step_rule in rules:
        table, condition = condition_of(step_rule)
        by_table.setdefault(table.name, (table, []))[1].append(condition)
    parts = []
    for table, conditions in by_table.values():
        where = conditions[0] if len(conditions) == 1 else " or ".join(f"({c})" for c in conditions)
        project = _projection(index, table, keys)
        parts.append(f"{table.name}\n    | where {where}\n    | {project}")
    if len(parts) == 1:
        return f"let Step{index} = {parts[0]};"
    return f"let Step{index} = union\n    " + ",\n    ".join(f"({p})" for p in parts) + ";"


def _column_of(table: Table, ecs: str) -> str:
    column = table.fields.get(ecs)
    if column is None:
        raise SigmaFeatureNotSupportedByBackendError(
            f"group-by field '{ecs}' has no column in table {table.name} ({MAPPING_FILE})"
        )
    return column.name


def _projection(index: int, table: Table, keys: dict[str, str]) -> str:
    """Time, the join keys (named as in the first step's table), the process id."""
    time = load_mapping().time_column
    pid = table.fields.get("process.pid")
    pid_text = f"tostring({pid.name})" if pid else '""'
    columns = [f"Step{index}Time = {time}"]
    for ecs, key in keys.items():
        column = _column_of(table, ecs)
        columns.append(key if column == key else f"{key} = {column}")
    columns.append(f"Step{index}ProcessId = {pid_text}")
    return "project " + ", ".join(columns)


def _join_keys(rule: PackRule, pack: RulePack, steps: list[list[str]]) -> dict[str, str]:
    """ECS group-by field -> join column (its name in the first step's table)."""
    sigma = rule.sigma
    assert isinstance(sigma, SigmaCorrelationRule)
    if not sigma.group_by:
        raise _fail(rule, "a correlation without group-by would join every pair of events")
    first = rule_table(next(r for r in pack.rules if r.id == steps[0][0]))
    return {ecs: _column_of(first, ecs) for ecs in sigma.group_by}


def correlation_query(rule: PackRule, pack: RulePack) -> str:
    """A temporal_ordered correlation: step 0 joined to step 1 on the group-by, then the
    order and the window (``Step1Time between (Step0Time .. Step0Time + span)``)."""
    sigma = rule.sigma
    assert isinstance(sigma, SigmaCorrelationRule)
    if sigma.type is not SigmaCorrelationType.TEMPORAL_ORDERED:
        raise _fail(rule, f"correlation type {sigma.type} is not supported")
    steps = correlation_steps(rule, pack)
    if len(steps) != 2:
        raise _fail(rule, "only two-step correlations are supported")
    by_id = {r.id: r for r in pack.rules}
    try:
        keys = _join_keys(rule, pack, steps)
        lets = [_step(i, [by_id[r] for r in step], keys) for i, step in enumerate(steps)]
    except SigmaError as exc:
        raise _fail(rule, str(exc)) from None
    not_empty = "".join(f"\n| where isnotempty({k})" for k in keys.values())
    level, escalated = rule.ref.level, rule.escalate_same_process or rule.ref.level
    span = short_span(int(sigma.timespan.seconds))
    return (
        "\n".join(lets)
        + f"\nStep0{not_empty}\n| join kind=inner (Step1) on {', '.join(keys.values())}"
        + f"\n| where Step1Time between (Step0Time .. Step0Time + {span})"
        + "\n| extend SameProcess = isnotempty(Step0ProcessId) and Step0ProcessId == Step1ProcessId"
        + f"\n| extend Severity = iff(SameProcess, {kql_string(escalated)}, {kql_string(level)})"
    )


def convert(rule: PackRule, pack: RulePack, fmt: str) -> str:
    """The KQL query of one pack rule, with a comment naming it; RuleError when impossible."""
    if fmt not in FORMATS:
        raise _fail(rule, f"unknown format '{fmt}' (known: {', '.join(FORMATS)})")
    if rule.is_correlation:
        return _comment(rule) + correlation_query(rule, pack)
    table, condition = condition_of(rule)
    return _comment(rule) + f"{table.name}\n| where {condition}"
