"""Splunk SPL target: one ``<base search> | where <condition>`` search per rule, CIM fields.

Semantics, chosen to mean in Splunk what ``imagehunt scan`` means (see docs/targets.md):

* fields are CIM names (``pipelines/splunk_cim.yml``); a rule field with no Splunk name in
  its dataset's mapping fails the rule, naming the field and the mapping;
* every string test is ``match(field, "(?i)^...\\z")`` (PCRE, case-insensitive unless
  ``|cased``); a list of values is one alternation; wildcards become ``.*``/``.`` with
  ``(?s)``; every literal is PCRE-escaped and the pattern is an SPL string literal with
  ``\\`` and ``"`` escaped, so a value can never end its string;
* multi-valued fields (``process_args``, ``answer``, CloudTrail ``items{}`` paths) are
  tested with ``isnotnull(mvfind(field, regex))``: any value matches;
* regexes keep their PCRE form; ``$`` becomes ``\\z`` (RE2's end of text);
* CIDR: ``cidrmatch("range", field)`` (IPv4 and IPv6); an IPv4 range also tests its
  IPv4-mapped IPv6 form (``::ffff:a.b.c.d/96+n``), as the scan does;
* ``not`` is true for a missing field: leaves under a ``not`` are ``(isnotnull(f) AND test)``;
* the correlation tags each event with its step, sorts by time and checks order and window
  with ``streamstats time_window=...`` per group-by field and an explicit time test.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Sequence
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionOR,
)
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from imagehunt import schema
from imagehunt.backends.negation import NegationDepth
from imagehunt.backends.sigma_values import integer_text
from imagehunt.backends.splunk_cim import Dataset, cim_pipeline, dataset_for
from imagehunt.backends.splunk_spl import (
    field_ref,
    re2_to_pcre,
    spl_string,
    value_pattern,
)
from imagehunt.backends.targets import conversion_error, short_span
from imagehunt.engine.correlate import correlation_steps
from imagehunt.errors import RuleError
from imagehunt.rulepack import PackRule, RulePack

FORMATS: tuple[str, ...] = ("spl",)
ARGS_FIELD = "process_args"
ARGS_EVAL = f'| eval {ARGS_FIELD}=split(process, " ")'
ASSESSMENT_NOTE = (
    "The level of an alert of this rule is decided per event by imagehunt (assessment "
    "'{name}'); this search reports every match at the rule's level."
)


def _flags(cased: bool, wildcard: bool) -> str:
    letters = ("" if cased else "i") + ("s" if wildcard else "")
    return f"(?{letters})" if letters else ""


class SplunkBackend(NegationDepth):
    """pySigma backend producing SPL ``where`` expressions over one dataset's CIM fields."""

    name: ClassVar[str] = "imagehunt Splunk SPL"
    formats: ClassVar[dict[str, str]] = {"default": "SPL where expression"}
    eq_token: ClassVar[str] = "="

    def __init__(self, dataset: Dataset, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dataset = dataset
        self._kinds = {
            splunk: schema.field(ecs).kind
            for ecs, splunk in dataset.fields.items()
            if ecs in schema.BY_NAME
        }
        self.fields_used: set[str] = set()

    # ---- helpers ---------------------------------------------------------------------------
    def _field(self, name: str) -> tuple[str, schema.Kind]:
        """(eval reference, kind) of a mapped field; unmapped fields fail the rule."""
        kind = self._kinds.get(name)
        if kind is None:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field '{name}' has no Splunk field for {self.dataset.name} in the mapping "
                f"'{self.dataset.mapping_id}' (pipelines/splunk_cim.yml)"
            )
        self.fields_used.add(name)
        return field_ref(name), kind

    def _leaf(self, ref: str, test: str) -> str:
        """A leaf, false (never null) for a missing field when under a ``not``."""
        return f"(isnotnull({ref}) AND {test})" if self._negations else test

    def _regex_test(self, name: str, pattern: str) -> str:
        """``pattern`` (PCRE with flags) tested on a field, any value of a multi-valued one."""
        ref, kind = self._field(name)
        literal = spl_string(pattern)
        if kind is schema.Kind.STRINGS:
            return f"isnotnull(mvfind({ref}, {literal}))"
        if kind is schema.Kind.INTEGER:
            return self._leaf(ref, f"match(tostring({ref}), {literal})")
        return self._leaf(ref, f"match({ref}, {literal})")

    def _integers(self, name: str, values: Sequence[str]) -> str:
        ref, _ = self._field(name)
        items = ", ".join(spl_string(v) for v in dict.fromkeys(values))
        return self._leaf(ref, f"in(tostring({ref}), {items})")

    def _values_test(self, name: str, values: Sequence[Any]) -> str:
        """Equality with any of ``values`` (strings, numbers), one regex per case mode."""
        _, kind = self._field(name)
        if kind is schema.Kind.INTEGER:
            numbers = [integer_text(v) for v in values]
            if any(n is None for n in numbers):
                raise SigmaFeatureNotSupportedByBackendError(
                    f"value on the integer field '{name}' is no integer: {list(map(str, values))}"
                )
            return self._integers(name, [n for n in numbers if n is not None])
        groups: dict[bool, list[SigmaString]] = {True: [], False: []}
        for value in values:
            text = value if isinstance(value, SigmaString) else SigmaString(str(value))
            groups[isinstance(value, SigmaCasedString)].append(text)
        tests = [self._alternation(name, cased, vals) for cased, vals in groups.items() if vals]
        return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"

    def _alternation(self, name: str, cased: bool, values: Sequence[SigmaString]) -> str:
        bodies = list(dict.fromkeys(value_pattern(v) for v in values))
        wildcard = any(v.contains_special() for v in values)
        body = bodies[0] if len(bodies) == 1 else "(?:" + "|".join(bodies) + ")"
        return self._regex_test(name, f"{_flags(cased, wildcard)}^{body}\\z")

    # ---- leaves ----------------------------------------------------------------------------
    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return self._values_test(cond.field, [cond.value])

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        return self._alternation(cond.field, True, [cond.value])

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return self._values_test(cond.field, [cond.value])

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaRegularExpression)
        flags = cond.value.flags
        letters = "".join(
            letter
            for flag, letter in (
                (SigmaRegularExpressionFlag.IGNORECASE, "i"),
                (SigmaRegularExpressionFlag.MULTILINE, "m"),
                (SigmaRegularExpressionFlag.DOTALL, "s"),
            )
            if flag in flags
        )
        multiline = SigmaRegularExpressionFlag.MULTILINE in flags
        pattern = re2_to_pcre(cond.value.regexp.to_plain(), multiline)
        prefix = f"(?{letters})" if letters else ""
        return self._regex_test(cond.field, prefix + pattern)

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        ref, kind = self._field(cond.field)
        assert isinstance(cond.value, SigmaCIDRExpression)
        network = ipaddress.ip_network(str(cond.value.network), strict=False)
        ranges = [str(network)]
        if isinstance(network, ipaddress.IPv4Network):
            ranges.append(f"::ffff:{network.network_address}/{96 + network.prefixlen}")
        if kind is schema.Kind.STRINGS:
            tests = [f"mvcount(mvfilter(cidrmatch({spl_string(r)}, {ref}))) > 0" for r in ranges]
        else:
            tests = [f"cidrmatch({spl_string(r)}, {ref})" for r in ranges]
        test = tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"
        return self._leaf(ref, test)

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        ref, kind = self._field(cond.field)
        comparison = self._integer_comparison(cond, kind is schema.Kind.INTEGER)
        return self._leaf(ref, f"tonumber({ref}) {comparison}")

    def convert_condition_field_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return f"isnotnull({self._field(cond.field)[0]})"

    def convert_condition_field_not_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return f"isnull({self._field(cond.field)[0]})"

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaBool)
        word = "true" if cond.value.boolean else "false"
        return self._values_test(cond.field, [SigmaString(word)])

    # ---- OR lists --------------------------------------------------------------------------
    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> str:
        """One field, many values: one regex alternation (or one ``in()`` for integers)."""
        args: Sequence[ConditionFieldEqualsValueExpression] = cond.args  # type: ignore[assignment]
        return self._values_test(args[0].field, [arg.value for arg in args])


# ---- rules ---------------------------------------------------------------------------------
def _fail(rule: PackRule, message: str) -> RuleError:
    return conversion_error(rule, "Splunk SPL", message)


def _dataset(rule: PackRule, sigma: SigmaRule) -> Dataset:
    source = sigma.logsource
    dataset = dataset_for(source.category, source.product, source.service)
    if dataset is None:
        raise _fail(
            rule,
            f"log source (category {source.category}, product {source.product}, service "
            f"{source.service}) has no Splunk dataset in pipelines/splunk_cim.yml",
        )
    return dataset


def condition_of(
    rule: PackRule, pipeline: ProcessingPipeline | None = None
) -> tuple[Dataset, str, frozenset[str]]:
    """(dataset, where-expression, Splunk fields used) of a detection rule."""
    if rule.context_only:
        raise _fail(rule, "context rule: not a detection (it never alerts, only feeds others)")
    sigma = copy.deepcopy(rule.sigma)
    if not isinstance(sigma, SigmaRule):
        raise _fail(rule, "not a detection rule")
    dataset = _dataset(rule, sigma)
    backend = SplunkBackend(dataset, pipeline or cim_pipeline())
    try:
        queries = backend.convert_rule(sigma)
    except (SigmaError, NotImplementedError) as exc:
        raise _fail(rule, str(exc)) from None
    if not queries:
        raise _fail(rule, "the rule converted to no query")
    text = queries[0] if len(queries) == 1 else " OR ".join(f"({q})" for q in queries)
    return dataset, text, frozenset(backend.fields_used)


def _comment(text: str) -> str:
    """An SPL comment (``` ... ```); backticks in ``text`` are dropped."""
    return "```" + text.replace("`", "'") + "```"


def _header(rule: PackRule, extra: str = "") -> str:
    level = rule.ref.level + extra
    return _comment(f"imagehunt {rule.name} ({level}): {rule.ref.title}")


def _prelude(fields: frozenset[str]) -> list[str]:
    return [ARGS_EVAL] if ARGS_FIELD in fields else []


def _detection(rule: PackRule, pipeline: ProcessingPipeline | None) -> str:
    dataset, condition, fields = condition_of(rule, pipeline)
    lines = [_header(rule)]
    if rule.assessment:
        lines.append(_comment(ASSESSMENT_NOTE.format(name=rule.assessment)))
    lines += [f"index=* {dataset.search}", *_prelude(fields), f"| where {condition}"]
    return "\n".join(lines)


# ---- the correlation ------------------------------------------------------------------------
STEP = "imagehunt_step"
FIRST_TIME = "imagehunt_first_time"
FIRST_PIDS = "imagehunt_first_pids"


Used = list[tuple[Dataset, frozenset[str]]]


def _step_test(rules: Sequence[PackRule], pipeline: ProcessingPipeline) -> tuple[str, Used]:
    """The OR of a step's rules, each AND its dataset's base search; (dataset, fields) used."""
    parts: list[str] = []
    found: Used = []
    for member in rules:
        dataset, condition, fields = condition_of(member, pipeline)
        found.append((dataset, fields))
        parts.append(f"(searchmatch({spl_string(dataset.search)}) AND ({condition}))")
    return " OR ".join(parts), found


def _common_field(datasets: Sequence[Dataset], ecs: str) -> str | None:
    """The one Splunk field ``ecs`` maps to in every dataset, None if unmapped somewhere."""
    names = {d.fields.get(ecs) for d in datasets}
    if len(names) != 1:
        return None
    return names.pop()


def _groups(rule: PackRule, group_by: Sequence[str], used: Sequence[Dataset]) -> list[str]:
    """Eval references of the group-by fields: one Splunk field per field in every dataset."""
    groups = []
    for ecs in group_by:
        name = _common_field(used, ecs)
        if name is None:
            raise _fail(rule, f"group-by field '{ecs}' has no one Splunk field in all datasets")
        groups.append(field_ref(name))
    return groups


def correlation_search(
    rule: PackRule, pack: RulePack, pipeline: ProcessingPipeline | None = None
) -> str:
    """A temporal_ordered correlation of two steps: order and window checked per group."""
    sigma = rule.sigma
    assert isinstance(sigma, SigmaCorrelationRule)
    steps = correlation_steps(rule, pack)
    if len(steps) != 2 or sigma.type.name.lower() != "temporal_ordered":
        raise _fail(rule, "only two-step temporal_ordered correlations are supported")
    by_id = {r.id: r for r in pack.rules}
    first, then = (_step_test([by_id[i] for i in s], pipeline or cim_pipeline()) for s in steps)
    all_sets = [d for d, _ in first[1] + then[1]]
    groups = _groups(rule, sigma.group_by or [], all_sets)
    fields = frozenset(f for _, fs in first[1] + then[1] for f in fs)
    seconds = int(sigma.timespan.seconds)
    pid_first = _common_field([d for d, _ in first[1]], "process.pid")
    pid_then = {d.fields["process.pid"] for d, _ in then[1] if "process.pid" in d.fields}
    searches = " OR ".join(f"({search})" for search in dict.fromkeys(d.search for d in all_sets))
    escalate = rule.escalate_same_process if pid_first and len(pid_then) == 1 else None
    lines = [
        _header(rule, f", {escalate} when the same process" if escalate else ""),
        f"index=* ({searches})",
        *_prelude(fields),
        f"| eval {STEP}=case({first[0]}, 1, {then[0]}, 2)",
        f"| where isnotnull({STEP})" + "".join(f" AND isnotnull({g})" for g in groups),
        f"| sort 0 +_time, +{STEP}",
        _streamstats(short_span(seconds), pid_first, f" by {', '.join(groups)}" if groups else ""),
        f"| where {STEP}=2 AND isnotnull({FIRST_TIME}) AND {FIRST_TIME} <= _time"
        f" AND _time - {FIRST_TIME} <= {seconds}",
    ]
    if escalate:
        lines.append(_escalation(rule.ref.level, escalate, field_ref(pid_then.pop())))
    lines.append(f"| dedup {' '.join([*groups, FIRST_TIME])}")
    return "\n".join(lines)


def _streamstats(span: str, pid_first: str | None, by: str) -> str:
    stats = f"max(eval(if({STEP}=1, _time, null()))) AS {FIRST_TIME}"
    if pid_first:
        stats += f" values(eval(if({STEP}=1, {field_ref(pid_first)}, null()))) AS {FIRST_PIDS}"
    return f"| streamstats time_window={span} {stats}{by}"


def _escalation(level: str, escalate: str, pid: str) -> str:
    same = (
        f'isnotnull({pid}) AND match(tostring({pid}), "^[0-9]+$")'
        f' AND isnotnull(mvfind({FIRST_PIDS}, "^" . tostring({pid}) . "$"))'
    )
    return f"| eval imagehunt_level=if({same}, {spl_string(escalate)}, {spl_string(level)})"


def convert_rule(rule: PackRule, pack: RulePack, pipeline: ProcessingPipeline | None = None) -> str:
    """The SPL search of one pack rule; RuleError (with file and line) when impossible."""
    if rule.is_correlation:
        return correlation_search(rule, pack, pipeline)
    return _detection(rule, pipeline)


def convert(rule: PackRule, pack: RulePack, fmt: str) -> str:
    """Target entry point: the rule's SPL search (format ``spl``)."""
    if fmt not in FORMATS:
        raise _fail(rule, f"unknown format '{fmt}' (formats: {', '.join(FORMATS)})")
    return convert_rule(rule, pack)
