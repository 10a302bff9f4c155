"""The Elastic ES|QL target: golden queries, structure, and the seed defects it must not repeat.

No Elasticsearch runs here. Regex tests are checked by running the emitted Lucene patterns
with Python's ``re.fullmatch`` (the generated patterns use only the syntax both read alike:
escaped punctuation, classes, groups, counted repeats), on the subject the query builds.
"""

from __future__ import annotations

import ipaddress
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

from imagehunt import schema
from imagehunt.backends import esql
from imagehunt.backends.esql_text import element_regex, joined_regex
from imagehunt.backends.targets import Target, convert_pack
from imagehunt.engine.detect import run_scan
from imagehunt.errors import RuleError
from imagehunt.pipelines import load_pipeline
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources.inputs import Input
from support.pack_rules import pack_rule as _rule
from support.query_text import assert_balanced_parentheses, assert_golden

GOLDEN = Path(__file__).parent / "golden" / "esql"
NOT_CONVERTED = {
    "cloud_image_inventory": "context rule: not a detection",
    "miner_then_pool": "'eql' target",
}
STRING = re.compile(r'"((?:\\[tnr"\\]|[^"\\\r\n])*)"')
FUNCTIONS = {"TO_LOWER", "MV_CONCAT", "CIDR_MATCH"}
KEYWORDS = {"FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "RLIKE", "IS", "NULL"}


@cache
def pack() -> RulePack:
    return load_pack()


def query(name: str) -> str:
    return esql.convert(pack().by_ref(name), pack(), "esql")


def converted() -> list[str]:
    return sorted(r.name for r in pack().rules if r.builtin and r.name not in NOT_CONVERTED)


def unescape(body: str) -> str:
    table = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: table[m.group(1)], body)


def code_of(text: str) -> str:
    """The query without comments and string literals (each literal becomes ``""``)."""
    lines = [line for line in text.split("\n") if not line.startswith("//")]
    return STRING.sub('""', "\n".join(lines))


def rlike(text: str, subject: str) -> list[str]:
    """The decoded patterns of every ``<subject> RLIKE "..."`` in a query."""
    found = re.finditer(re.escape(subject) + r' RLIKE "((?:\\[tnr"\\]|[^"\\\r\n])*)"', text)
    return [unescape(m.group(1)) for m in found]


def any_match(patterns: list[str], value: str) -> bool:
    return any(re.fullmatch(p, value, re.DOTALL) for p in patterns)


def args_subject(args: list[str]) -> str:
    return "\n".join(args).lower()


# ---- every rule ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", converted())
def test_golden(name: str) -> None:
    path = GOLDEN / f"{name}.esql"
    text = query(name) + "\n"
    assert_golden(path, text)


@pytest.mark.parametrize("name", converted())
def test_structure(name: str) -> None:
    text = query(name)
    lines = text.split("\n")
    assert lines[-2] == f"FROM {esql.INDEX_PATTERN} {esql.METADATA}" and lines[-1].startswith(
        "| WHERE "
    )
    code = code_of(text)
    assert '"' not in code.replace('""', ""), "unbalanced quotes"
    assert_balanced_parentheses(code)
    body = code.split("| WHERE ", 1)[1]
    words = set(re.findall(r"[A-Za-z_@][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*", body))
    fields = {w for w in words if w not in FUNCTIONS | KEYWORDS and not w.isdigit()}
    assert fields and fields <= set(esql.FIELD_MAPPING), fields - set(esql.FIELD_MAPPING)


@pytest.mark.parametrize(("name", "reason"), sorted(NOT_CONVERTED.items()))
def test_rules_that_cannot_be_converted_say_why(name: str, reason: str) -> None:
    rule = pack().by_ref(name)
    with pytest.raises(RuleError, match=re.escape(reason)) as caught:
        esql.convert(rule, pack(), "esql")
    assert caught.value.file == rule.path and caught.value.line == rule.line


def test_assessment_rule_says_level_is_decided_by_imagehunt() -> None:
    assert "decided per event by imagehunt" in query("cloud_image_launch").split("\n")[1]


# ---- seed defects --------------------------------------------------------------------------
def test_e3_e4_names_case_insensitive_with_windows_forms() -> None:
    text = query("miner_process")
    assert 'TO_LOWER(process.name) IN ("minerd", ' in text
    assert '"kinsing.exe"' in text and 'TO_LOWER(process.name) LIKE "xmrig*.exe"' in text
    patterns = rlike(text, "TO_LOWER(process.executable)")
    assert any_match(patterns, "/tmp/.x/XMRig.exe".lower())
    assert not any_match(patterns, "/usr/bin/notxmrig-helper-x")


def test_e5_donate_level_with_value_in_args() -> None:
    patterns = rlike(query("miner_cmdline"), 'TO_LOWER(MV_CONCAT(process.args, "\\n"))')
    assert any_match(patterns, args_subject(["./sysupdate", "-o", "x:1", "--donate-level=1"]))
    assert any_match(patterns, args_subject(["./sysupdate", "-o", "pool.supportxmr.com:3333"]))
    assert not any_match(patterns, args_subject(["ls", "-la", "--level=1"]))


def test_e6_stratum_variants() -> None:
    patterns = rlike(query("miner_cmdline"), "TO_LOWER(process.command_line)")
    for url in ("stratum2+tcp://p:1", "STRATUM+TLS://p:443", "stratum+ssl://p:1"):
        assert any_match(patterns, f"xmr -o {url}".lower()), url


def test_e7_e8_e9_dns_subdomains_on_label_boundary_any_event_type() -> None:
    text = query("pool_dns")
    assert 'TO_LOWER(dns.question.name) LIKE "*.minexmr.com"' in text
    assert '"minexmr.com"' in text and 'LIKE "*minexmr.com"' not in text
    assert "event.type" not in code_of(text)


def test_e11_a1_a2_reserved_ranges_are_real_cidr_tests() -> None:
    text = query("pool_connection")
    for net in ("10.0.0.0/8", "172.16.0.0/12", "100.64.0.0/10", "169.254.0.0/16", "fc00::/7"):
        assert f'CIDR_MATCH(destination.ip, "{net}")' in text, net
    assert 'CIDR_MATCH(destination.ip, "::1/128")' in text
    assert 'LIKE "172.' not in text and 'LIKE "10.' not in text
    assert "AND NOT ((destination.ip IS NOT NULL AND CIDR_MATCH(" in text


def excluded_browser(text: str, executable: str) -> bool:
    """Whether the query's browser test (exact values and LIKE patterns) covers a path."""
    exclusion = text.split("AND NOT ((process.executable IS NOT NULL AND (", 1)[1]
    values = [unescape(v) for v in STRING.findall(exclusion.split(" LIKE ", 1)[0])]
    likes = re.findall(r' LIKE "((?:\\[tnr"\\]|[^"\\\r\n])*)"', exclusion)
    regexes = [_like_regex(unescape(p)) for p in likes]
    lowered = executable.lower()
    return lowered in values or any(re.fullmatch(r, lowered, re.DOTALL) for r in regexes)


def _like_regex(pattern: str) -> str:
    """An ES|QL LIKE pattern as a Python regex (``*``, ``?``, ``\\`` escapes)."""
    parts = re.findall(r"\\.|.", pattern, re.DOTALL)
    table = {"*": ".*", "?": "."}
    return "".join(
        re.escape(p[-1]) if p.startswith("\\") else table.get(p, re.escape(p)) for p in parts
    )


def test_e13_browsers_excluded_by_path_not_name() -> None:
    text = query("pool_connection")
    assert "process.name" not in code_of(text)
    assert excluded_browser(text, "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe")
    assert excluded_browser(text, "C:\\PROGRAM FILES\\Google\\Chrome\\Application\\chrome.exe")
    assert not excluded_browser(text, "C:\\Users\\x\\AppData\\Local\\Temp\\chrome.exe")
    assert not excluded_browser(text, "/tmp/firefox")


def test_e15_bitcoin_port_absent() -> None:
    text = query("pool_connection")
    assert "8333" not in text and "destination.port IN (3333, " in text


# ---- values, fields, semantics -------------------------------------------------------------


def _where(detection: dict[str, Any]) -> str:
    return esql.condition_of(_rule({"sel": detection, "condition": "sel"}, "unguarded"))


def test_hostile_value_stays_a_value() -> None:
    hostile = "x' or 1=1 --\"\\\n"
    where = _where({"process.name|cased": hostile})
    literal = STRING.search(where)
    assert literal is not None and unescape(literal.group(1)) == hostile
    assert code_of(where) == 'process.name == ""'


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ({"process.name": "XMRig"}, 'TO_LOWER(process.name) == "xmrig"'),
        ({"process.name|cased": "XMRig"}, 'process.name == "XMRig"'),
        ({"process.name|cased|endswith": "Rig"}, 'process.name LIKE "*Rig"'),
        ({"process.name|startswith": "a\\*b"}, 'TO_LOWER(process.name) LIKE "a\\\\*b*"'),
        ({"destination.port": ["80", 443]}, "destination.port IN (80, 443)"),
        ({"process.name|exists": True}, "process.name IS NOT NULL"),
        ({"process.name|re": "^x"}, 'process.name RLIKE "x.*"'),
    ],
)
def test_leaf_forms(detection: dict[str, Any], expected: str) -> None:
    assert _where(detection) == expected


def test_not_is_guarded_against_missing_fields() -> None:
    rule = _rule({"sel": {"process.name": "a"}, "condition": "not sel"}, "unguarded")
    assert (
        esql.condition_of(rule)
        == 'NOT (process.name IS NOT NULL AND TO_LOWER(process.name) == "a")'
    )


def test_array_regex_cannot_cross_elements() -> None:
    pattern = joined_regex(element_regex("a[^0-9]b.*", "process.args"))
    assert re.fullmatch(pattern, "x\na-bc\ny", re.DOTALL)
    assert not re.fullmatch(pattern, "a\nb", re.DOTALL)
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match=re.escape("'process.args'")):
        element_regex("a\nb", "process.args")


def test_array_exact_value_is_any_element() -> None:
    where = _where({"process.args": "--Coin"})
    patterns = rlike(where, 'TO_LOWER(MV_CONCAT(process.args, "\\n"))')
    assert any_match(patterns, "xmrig\n--coin\nmonero")
    assert not any_match(patterns, "xmrig --coin\nmonero")


def test_changing_an_indicator_value_changes_the_query() -> None:
    detection = {"sel": {"process.name|expand": "%miner_names%"}, "condition": "sel"}
    pipeline = load_pipeline("ecs")
    before = esql.condition_of(_rule(detection), esql.EsqlBackend(pipeline))
    pipeline = load_pipeline("ecs")
    pipeline.vars = {**pipeline.vars, "miner_names": ["only-this-miner"]}
    after = esql.condition_of(_rule(detection), esql.EsqlBackend(pipeline))
    assert before != after and '"only-this-miner"' in after and "xmrig" not in after


def test_unmapped_field_fails_that_rule_only() -> None:
    bad = _rule({"sel": {"no_such.field": "a"}, "condition": "sel"})
    target = Target("esql", "ES|QL", esql.FORMATS, esql.convert, context_rules=False)
    result = convert_pack(pack(), target, "esql", [bad, pack().by_ref("miner_process")])
    assert result.converted == ["miner_process"]
    (error,) = result.errors
    assert "no_such.field" in str(error) and esql.MAPPING_NAME in str(error)
    assert error.file == "t.yml"


# ---- an evaluator of the emitted WHERE, with Elasticsearch's value model ----------------------
# ES|QL semantics emulated: three-valued logic (null is no match, NOT null is null); a missing
# field or an empty array is null; a one-element array is a single value; a comparison, LIKE,
# RLIKE, TO_LOWER or CIDR_MATCH on several values is null; integer fields index numeric
# strings as numbers; an IPv4-mapped IPv6 address is stored as IPv4.
RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:\\[tnr"\\]|[^"\\\r\n])*")|(?P<num>-?[0-9]+)|(?P<op>==|[(),])'
    r"|(?P<word>[A-Za-z_@][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*))"
)
Value = Any


class Where:
    """Parse an emitted WHERE expression into a predicate over flat ECS documents."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text.rstrip()):
            match = TOKEN.match(text, position)
            assert match is not None, text[position : position + 40]
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index = 0

    def peek(self) -> str:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.index]
        assert expected is None or token[1] == expected, (token, expected)
        self.index += 1
        return token

    def parse(self) -> Any:
        node = self.boolean("OR")
        assert self.index == len(self.tokens)
        return node

    def boolean(self, word: str) -> Any:
        lower = (lambda: self.boolean("AND")) if word == "OR" else self.negation
        terms = [lower()]
        while self.peek() == word:
            self.take()
            terms.append(lower())
        return (word, terms) if len(terms) > 1 else terms[0]

    def negation(self) -> Any:
        if self.peek() == "NOT":
            self.take()
            return ("NOT", self.negation())
        if self.peek() == "(":
            self.take("(")
            node = self.boolean("OR")
            self.take(")")
            return node
        return self.predicate()

    def literal(self) -> Value:
        kind, text = self.take()
        return unescape(text[1:-1]) if kind == "str" else int(text)

    def literals(self) -> list[Value]:
        self.take("(")
        items = [self.literal()]
        while self.peek() == ",":
            self.take()
            items.append(self.literal())
        self.take(")")
        return items

    def value(self) -> Any:
        _, word = self.take()
        if word in ("TO_LOWER", "MV_CONCAT"):
            self.take("(")
            inner = self.value()
            separator = None
            if word == "MV_CONCAT":
                self.take(",")
                separator = self.literal()
            self.take(")")
            return (word, inner, separator)
        return ("field", word)

    def predicate(self) -> Any:
        if self.peek() == "CIDR_MATCH":
            self.take()
            self.take("(")
            subject = self.value()
            self.take(",")
            nets = [self.literal()]
            self.take(")")
            return ("CIDR", subject, nets)
        subject = self.value()
        _, operator = self.take()
        if operator == "IS":
            negated = self.peek() == "NOT"
            if negated:
                self.take()
            self.take("NULL")
            return ("NOTNULL" if negated else "NULL", subject)
        if operator == "IN":
            return ("IN", subject, self.literals())
        return (operator, subject, self.literal())


def value_of(node: Any, doc: dict[str, Value]) -> Value:
    kind = node[0]
    if kind == "field":
        return doc.get(node[1])
    inner = value_of(node[1], doc)
    if inner is None:
        return None
    if kind == "MV_CONCAT":
        return node[2].join(inner) if isinstance(inner, list) else str(inner)
    return None if isinstance(inner, list) else str(inner).lower()


def _like(pattern: str) -> str:
    parts = re.findall(r"\\.|.", pattern, re.DOTALL)
    table = {"*": ".*", "?": "."}
    return "".join(re.escape(p[-1]) if len(p) == 2 else table.get(p, re.escape(p)) for p in parts)


def _ip_in(value: str, nets: list[str]) -> bool:
    address = ipaddress.ip_address(value)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(n) for n in nets)


def evaluate(node: Any, doc: dict[str, Value]) -> bool | None:
    kind = node[0]
    if kind in ("AND", "OR"):
        results = [evaluate(t, doc) for t in node[1]]
        decisive = kind == "OR"
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    if kind == "NOT":
        inner = evaluate(node[1], doc)
        return None if inner is None else not inner
    subject = value_of(node[1], doc)
    if kind in ("NULL", "NOTNULL"):
        return (subject is None) == (kind == "NULL")
    if subject is None or isinstance(subject, list):
        return None
    if kind == "CIDR":
        return _ip_in(subject, node[2])
    tests = {
        "==": lambda: subject == node[2],
        "IN": lambda: subject in node[2],
        "LIKE": lambda: re.fullmatch(_like(node[2]), subject, re.DOTALL) is not None,
        "RLIKE": lambda: re.fullmatch(node[2], subject, re.DOTALL) is not None,
    }
    return bool(tests[kind]())


def flat_document(line: str) -> dict[str, Value]:
    """A sample line as Elasticsearch would index it, by dotted field name."""
    doc: dict[str, Value] = {}

    def walk(prefix: str, value: Value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}{key}.", inner)
            return
        name = prefix[:-1]
        if name.startswith("_"):
            return
        if isinstance(value, list):
            value = [v for v in value if v is not None]
            value = None if not value else value[0] if len(value) == 1 else value
        if isinstance(value, str) and name in INTEGER_FIELDS and value.strip().isdigit():
            value = int(value)
        if value is not None:
            doc[name] = value

    walk("", json.loads(line))
    return doc


INTEGER_FIELDS = frozenset(f.name for f in schema.FIELDS if f.kind is schema.Kind.INTEGER)


def esql_lines(name: str, kind: str) -> set[int]:
    where = Where(query(name).split("| WHERE ", 1)[1]).parse()
    lines = (RULES_DIR / name / f"{kind}.ndjson").read_text().split("\n")
    return {
        n
        for n, line in enumerate(lines, 1)
        if line.strip() and evaluate(where, flat_document(line))
    }


def scan_lines(name: str, kind: str) -> set[int]:
    path = RULES_DIR / name / f"{kind}.ndjson"
    outcome = run_scan(load_pack(select=[name]), [Input(path, str(path), "ecs")])
    return {e.line for a in outcome.alerts if a.rule.name == name for e in a.evidence[:1]}


@pytest.mark.parametrize(("name", "kind"), [(n, k) for n in converted() for k in ("tp", "tn")])
def test_query_means_what_the_scan_means_on_samples(name: str, kind: str) -> None:
    expected = scan_lines(name, kind)
    assert expected or kind == "tn"
    assert esql_lines(name, kind) == expected
