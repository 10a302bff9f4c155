"""Elastic EQL target: one ``<category> where <condition>`` query per detection rule.

Semantics, chosen to mean in Elasticsearch exactly what ``imagehunt scan`` means:

* strings match case-insensitively (``:`` for one exact value, ``in~`` for several or for a
  value containing ``*``/``?``, which ``:`` would read as wildcards; ``like~`` for Sigma
  wildcards) unless the rule says ``|cased`` (``==``, ``in``, ``like``). EQL's like has no
  escape for a literal ``*`` or ``?``, so a wildcard value containing one fails the rule;
* values are EQL string literals: ``\\``, ``"`` and ``\\b \\t \\n \\f \\r`` escaped
  (the escapes of Elasticsearch's EQL grammar), so a value can never end its string;
* regexes become Lucene whole-string regexes (``regex``/``regex~``, see ``eql_regex``);
  what Lucene cannot express exactly fails the rule with the construct named;
* multi-valued fields: Elasticsearch matches when any value matches, like the scan;
* CIDR ranges: ``cidrMatch``; Elasticsearch stores an IPv4-mapped IPv6 address as IPv4, so
  an IPv4 range covers the mapped form, as in the scan;
* ``|exists``: ``field != null`` (``field == null`` for ``exists: false``);
* NOT and missing fields: Sigma says ``not selection`` is true for an event lacking the
  field. Elasticsearch may evaluate a comparison with a missing field as null, and
  ``not null`` is null (no match). So every leaf under a ``not`` is guarded:
  ``(field != null and leaf)`` is false, never null, when the field is missing, and
  ``not`` of it is true. Leaves outside a ``not`` need no guard (null is "no match").
* log sources: process_creation -> ``process``, network_connection and dns -> ``network``
  (DNS events of Elastic Defend, Sysmon 22 and Zeek are network events; no
  ``event.action == "lookup_requested"`` test, which would drop Sysmon and Zeek queries the
  scan matches). The scan has no category guard for dns, so a DNS event without
  ``event.category: network`` is the one place the EQL query is narrower. Everything else
  (cloud, container) -> ``any``. The ECS pipeline's
  ``event.category`` guards are dropped (the EQL category is that test); its
  ``not event.type: end`` guard is kept, so the conditions are the scan's.
* context rules (``role: context``) are not detections: converting one raises RuleError.
  Rules with an ``assessment`` convert their selection; the query starts with a comment
  saying the level is decided per event by imagehunt.
* the correlation becomes ``sequence by <group-by> with maxspan=<timespan>``, one bracket per
  step of the extended condition, each step the OR of its rules' conditions.
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
    ConditionValueExpression,
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
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from imagehunt import schema
from imagehunt.backends.eql_regex import sigma_value_to_lucene
from imagehunt.backends.negation import NegationDepth
from imagehunt.backends.sigma_values import (
    canonical_integer,
    exact_text,
    integer_text,
    string_parts,
)
from imagehunt.backends.targets import conversion_error, short_span
from imagehunt.engine.correlate import correlation_steps
from imagehunt.errors import RuleError
from imagehunt.pipelines import load_pipeline
from imagehunt.rulepack import PackRule, RulePack

# Pipeline items adding ``event.category`` tests that the EQL category already makes.
CATEGORY_GUARDS = (
    "process_creation_is_ecs_process_event",
    "network_connection_is_ecs_network_event",
)
CATEGORIES = {"process_creation": "process", "network_connection": "network", "dns": "network"}
ASSESSMENT_NOTE = (
    "The level of an alert of this rule is decided per event by imagehunt "
    "(assessment '{name}'); EQL cannot reproduce it: every match is reported at the rule's level."
)
_FIELD_NAME = re.compile(r"[A-Za-z_@][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")  # unquoted


_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\f": "\\f",
    "\b": "\\b",
}


def eql_string(value: str) -> str:
    """``value`` as an EQL double-quoted string (backslash, quote and controls escaped).

    Other control characters are allowed as they are by the EQL string grammar.
    """
    return '"' + "".join(_ESCAPES.get(char, char) for char in value) + '"'


def _wildcard_pattern(value: SigmaString) -> str:
    out = []
    for part in string_parts(value):
        if part is SpecialChars.WILDCARD_MULTI:
            out.append("*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append("?")
        elif isinstance(part, str):
            if "*" in part or "?" in part:
                raise SigmaFeatureNotSupportedByBackendError(
                    f"literal '*' or '?' in the wildcard value {value.to_plain()!r}: "
                    "EQL like has no escape for them"
                )
            out.append(part)
    return "".join(out)


class EqlBackend(NegationDepth):
    """pySigma backend producing Elasticsearch EQL conditions over schema.py fields."""

    name: ClassVar[str] = "imagehunt Elastic EQL"
    formats: ClassVar[dict[str, str]] = {"default": "EQL condition"}
    or_token: ClassVar[str] = "or"
    and_token: ClassVar[str] = "and"
    not_token: ClassVar[str] = "not"
    eq_token: ClassVar[str] = " : "
    field_in_list_expression: ClassVar[str] = "{field} in~ ({list})"

    # ---- helpers ---------------------------------------------------------------------------
    def _field(self, name: str) -> schema.Field:
        try:
            fld = schema.field(name)
        except KeyError:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field '{name}' is not in the normalized schema (imagehunt/schema.py)"
            ) from None
        if not _FIELD_NAME.fullmatch(name):
            raise SigmaFeatureNotSupportedByBackendError(f"field '{name}' is no EQL identifier")
        return fld

    def _leaf(self, name: str, test: str) -> str:
        """A leaf test, guarded against a missing field when under a ``not``."""
        if self._negations:
            return f"({name} != null and {test})"
        return test

    def _string_test(self, name: str, value: SigmaString, cased: bool) -> str:
        fld = self._field(name)
        exact = exact_text(value)
        if fld.kind is schema.Kind.INTEGER:
            if exact is not None and canonical_integer(exact):
                return f"{name} == {int(exact)}"
            raise SigmaFeatureNotSupportedByBackendError(
                f"text value {value.to_plain()!r} on the integer field '{name}'"
            )
        if exact is not None:
            if cased:
                return f"{name} == {eql_string(exact)}"
            if "*" in exact or "?" in exact:
                return f"{name} in~ ({eql_string(exact)})"
            return f"{name} : {eql_string(exact)}"
        operator = "like" if cased else "like~"
        return f"{name} {operator} {eql_string(_wildcard_pattern(value))}"

    # ---- leaves ----------------------------------------------------------------------------
    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        return self._leaf(cond.field, self._string_test(cond.field, cond.value, cased=False))

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        assert isinstance(cond.value, SigmaString)
        return self._leaf(cond.field, self._string_test(cond.field, cond.value, cased=True))

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        fld = self._field(cond.field)
        assert isinstance(cond.value, SigmaNumber)
        number = cond.value.number
        if fld.kind is schema.Kind.INTEGER:
            return self._leaf(cond.field, f"{cond.field} == {number}")
        return self._leaf(cond.field, f"{cond.field} : {eql_string(str(number))}")

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        assert isinstance(cond.value, SigmaRegularExpression)
        lucene, ignore_case = sigma_value_to_lucene(cond.value)
        operator = "regex~" if ignore_case else "regex"
        return self._leaf(cond.field, f"{cond.field} {operator} {eql_string(lucene)}")

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        assert isinstance(cond.value, SigmaCIDRExpression)
        network = eql_string(str(cond.value.network))
        return self._leaf(cond.field, f"cidrMatch({cond.field}, {network})")

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        integer_field = self._field(cond.field).kind is schema.Kind.INTEGER
        comparison = self._integer_comparison(cond, integer_field)
        return self._leaf(cond.field, f"{cond.field} {comparison}")

    def convert_condition_field_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        return f"{cond.field} != null"

    def convert_condition_field_not_exists(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        return f"{cond.field} == null"

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        self._field(cond.field)
        assert isinstance(cond.value, SigmaBool)
        word = "true" if cond.value.boolean else "false"
        return self._leaf(cond.field, f"{cond.field} : {eql_string(word)}")

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        """Keyword search: the value in any string field of the schema."""
        assert isinstance(cond.value, SigmaString)
        cased = isinstance(cond.value, SigmaCasedString)
        tests = [
            self._leaf(f.name, self._string_test(f.name, cond.value, cased))
            for f in schema.FIELDS
            if f.kind in (schema.Kind.STRING, schema.Kind.STRINGS)
        ]
        return "(" + " or ".join(tests) + ")"

    def convert_condition_val_num(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        return self.convert_condition_val_str(
            ConditionValueExpression(SigmaString(str(cond.value))), state
        )

    # ---- OR lists --------------------------------------------------------------------------
    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> str:
        """One field, many values: one ``in``/``in~``/``like``/``like~`` list per kind."""
        args: Sequence[ConditionFieldEqualsValueExpression] = cond.args  # type: ignore[assignment]
        name = args[0].field
        fld = self._field(name)
        lists: dict[str, list[str]] = {"in": [], "in~": [], "like": [], "like~": []}
        for arg in args:
            value: Any = arg.value
            if fld.kind is schema.Kind.INTEGER:
                if integer_text(value) is None:
                    raise SigmaFeatureNotSupportedByBackendError(
                        f"value {value!s} on the integer field '{name}' is no integer"
                    )
                lists["in"].append(str(int(str(value))))
                continue
            cased = isinstance(value, SigmaCasedString)
            text = exact_text(value) if isinstance(value, SigmaString) else str(value)
            if text is not None:
                lists["in" if cased else "in~"].append(eql_string(text))
            else:
                lists["like" if cased else "like~"].append(eql_string(_wildcard_pattern(value)))
        tests = [
            f"{name} {operator} ({', '.join(dict.fromkeys(items))})"
            for operator, items in lists.items()
            if items
        ]
        if len(tests) == 1:
            return self._leaf(name, tests[0])
        return self._leaf(name, "(" + " or ".join(tests) + ")")


def eql_pipeline() -> ProcessingPipeline:
    """The ECS pipeline without its event.category guards: ``process where`` says that."""
    pipeline = load_pipeline("ecs")
    pipeline.items = [i for i in pipeline.items if i.identifier not in CATEGORY_GUARDS]
    return pipeline


def _category(rule: SigmaRule) -> str:
    return CATEGORIES.get(rule.logsource.category or "", "any")


def _fail(rule: PackRule, message: str) -> RuleError:
    return conversion_error(rule, "EQL", message)


def condition_of(rule: PackRule, backend: EqlBackend | None = None) -> tuple[str, str]:
    """(category, condition) of a detection rule; its Sigma conditions are OR-ed."""
    if rule.context_only:
        raise _fail(rule, "context rule: not a detection (it never alerts, only feeds others)")
    sigma = copy.deepcopy(rule.sigma)
    if not isinstance(sigma, SigmaRule):
        raise _fail(rule, "not a detection rule")
    backend = backend or EqlBackend(eql_pipeline())
    try:
        queries = backend.convert_rule(sigma)
    except (SigmaError, NotImplementedError) as exc:
        raise _fail(rule, str(exc)) from None
    if not queries:
        raise _fail(rule, "the rule converted to no query")
    text = queries[0] if len(queries) == 1 else " or ".join(f"({q})" for q in queries)
    return _category(sigma), text


def _sequence(rule: PackRule, pack: RulePack, backend: EqlBackend) -> str:
    sigma = rule.sigma
    assert isinstance(sigma, SigmaCorrelationRule)
    steps = correlation_steps(rule, pack)
    by_id = {r.id: r for r in pack.rules}
    brackets = []
    for step in steps:
        parts = [condition_of(by_id[rule_id], backend) for rule_id in step]
        categories = {category for category, _ in parts}
        category = categories.pop() if len(categories) == 1 else "any"
        body = " or ".join(f"({text})" for _, text in parts)
        brackets.append(f"  [{category} where {body}]")
    head = "sequence"
    if sigma.group_by:
        head += " by " + ", ".join(sigma.group_by)
    head += f" with maxspan={short_span(int(sigma.timespan.seconds))}"
    return head + "\n" + "\n".join(brackets)


def convert_rule(rule: PackRule, pack: RulePack) -> str:
    """The EQL query of one pack rule; RuleError (with file and line) when impossible."""
    backend = EqlBackend(eql_pipeline())
    if rule.is_correlation:
        return _sequence(rule, pack, backend)
    category, condition = condition_of(rule, backend)
    query = f"{category} where {condition}"
    if rule.assessment:
        return f"/* {ASSESSMENT_NOTE.format(name=rule.assessment)} */\n{query}"
    return query


RISK_SCORES = {"informational": 21, "low": 21, "medium": 47, "high": 73, "critical": 99}
SEVERITIES = {"informational": "low"}
DEFAULT_INDEX = ("logs-*", "endgame-*", "filebeat-*", "winlogbeat-*", "auditbeat-*")
_TACTICS = {  # Sigma tag -> ATT&CK tactic id and name
    "execution": ("TA0002", "Execution"),
    "impact": ("TA0040", "Impact"),
    "credential-access": ("TA0006", "Credential Access"),
}
_TECHNIQUES = {  # Sigma tag -> (tactic tag, ATT&CK name)
    "t1204": ("execution", "User Execution"),
    "t1204.003": ("execution", "Malicious Image"),
    "t1496": ("impact", "Resource Hijacking"),
    "t1552": ("credential-access", "Unsecured Credentials"),
    "t1552.001": ("credential-access", "Credentials In Files"),
}


def _attack_entry(ident: str, kind: str = "techniques") -> dict[str, Any]:
    name = _TACTICS[ident][1] if kind == "tactics" else _TECHNIQUES[ident][1]
    upper = _TACTICS[ident][0] if kind == "tactics" else ident.upper()
    path = upper.replace(".", "/")
    return {"id": upper, "name": name, "reference": f"https://attack.mitre.org/{kind}/{path}/"}


def threat_mapping(tags: Sequence[str]) -> list[dict[str, Any]]:
    """Kibana ``threat`` entries for a rule's ``attack.*`` tags (the techniques known here).

    A technique is listed under its tactic when the rule is tagged with that tactic too; a
    sub-technique tag adds its parent technique.
    """
    names = {t.removeprefix("attack.").lower() for t in tags if t.startswith("attack.")}
    techniques = {n.split(".")[0] for n in names if n.split(".")[0] in _TECHNIQUES}
    threat: list[dict[str, Any]] = []
    for tactic in _TACTICS:
        parents = sorted(t for t in techniques if _TECHNIQUES[t][0] == tactic)
        if tactic not in names or not parents:
            continue
        entries = []
        for parent in parents:
            entry = _attack_entry(parent)
            subs = sorted(n for n in names if n.startswith(parent + ".") and n in _TECHNIQUES)
            if subs:
                entry["subtechnique"] = [_attack_entry(sub) for sub in subs]
            entries.append(entry)
        threat.append(
            {
                "framework": "MITRE ATT&CK",
                "tactic": _attack_entry(tactic, "tactics"),
                "technique": entries,
            }
        )
    return threat


def detection_rule_object(
    rule: PackRule, query: str, index: Sequence[str] = DEFAULT_INDEX
) -> dict[str, Any]:
    """The rule as a Kibana detection rule (import format) of type EQL."""
    level = rule.ref.level
    description = rule.description or rule.ref.title
    if rule.assessment:
        description += " " + ASSESSMENT_NOTE.format(name=rule.assessment)
    note = rule.investigation_guide
    if rule.response_playbook:
        note += "\n\n## Response\n\n" + rule.response_playbook
    return {
        "rule_id": rule.id,
        "name": rule.ref.title,
        "description": description,
        "risk_score": RISK_SCORES[level],
        "severity": SEVERITIES.get(level, level),
        "type": "eql",
        "language": "eql",
        "query": query,
        "index": list(index),
        "tags": ["imagehunt", rule.ref.branch, *rule.ref.tags],
        "threat": threat_mapping(rule.ref.tags),
        "false_positives": list(rule.falsepositives),
        "note": note,
        "enabled": True,
        "interval": "5m",
        "from": "now-6m",
        "version": 1,
    }
