"""The Sentinel KQL target: golden queries, structure, and the seed defects it must not repeat.

No Kusto engine runs here. Besides the golden files and the structural checks, the ``where``
conditions are evaluated by a small interpreter of exactly the KQL subset the backend writes
(``=~``, ``in~``, ``startswith``..., ``matches regex`` read with Python's ``re``, which agrees
with RE2 on the constructs the pack uses, ``ipv4_is_in_range``/``ipv6_is_in_range`` read with
``ipaddress`` and null for an address of the other family, as Kusto documents). Events are
given in ASIM columns; a missing string column is "" and a missing number is null, as in Kusto.
That interpreter is a model of Kusto, not Kusto: see docs/targets.md.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

from imagehunt.backends import kql
from imagehunt.backends.kql_mapping import load_mapping
from imagehunt.backends.targets import Target, convert_pack
from imagehunt.errors import RuleError
from imagehunt.pipelines import placeholder_pipeline
from imagehunt.rulepack import RulePack, load_pack
from support.pack_rules import pack_rule as _rule
from support.query_text import assert_balanced_parentheses, assert_golden

GOLDEN = Path(__file__).parent / "golden" / "kql"
NOT_CONVERTED = {
    "cloud_image_inventory": "context rule",
    "container_credential_exposure": "field 'container.id' has no column in table imProcessCreate",
    "container_downloader": "field 'container.id' has no column in table imProcessCreate",
    "image_pull_malicious_namespace": "no table for log source",
    "image_pull_typosquat": "no table for log source",
}
KQL_WORDS = frozenset(
    [
        "where",
        "and",
        "or",
        "not",
        "in",
        "in~",
        "let",
        "union",
        "join",
        "kind",
        "inner",
        "on",
        "project",
        "extend",
        "iff",
        "between",
        "startswith",
        "endswith",
        "contains",
        "startswith_cs",
        "endswith_cs",
        "contains_cs",
        "matches",
        "regex",
        "isnotempty",
        "isempty",
        "coalesce",
        "ipv4_is_in_range",
        "ipv6_is_in_range",
        "tostring",
        "parse_json",
        "false",
        "true",
        "m",
        "s",
    ]
)
DERIVED = frozenset(
    [
        "Step0",
        "Step1",
        "Step0Time",
        "Step1Time",
        "Step0ProcessId",
        "Step1ProcessId",
        "SameProcess",
        "Severity",
    ]
)


@cache
def pack() -> RulePack:
    return load_pack()


@cache
def query(name: str) -> str:
    return kql.convert(pack().by_ref(name), pack(), "kql")


def _builtin_names() -> list[str]:
    return sorted(r.name for r in pack().rules if r.builtin)


# ---- a model of the KQL subset the backend writes ---------------------------------------------
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?[0-9]+)'
    r"|(?P<op>=~|==|!=|<=|>=|<|>|\(|\)|,)|(?P<path>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_~]*))"
)
_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


def decode(literal: str) -> str:
    return re.sub(r"\\(.)", lambda m: _UNESCAPE[m.group(1)], literal[1:-1])


def tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match and match.end() > pos, f"cannot lex at {text[pos : pos + 40]!r}"
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _in_range(address: str, cidr: str, version: int) -> bool | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version != version:
        return None
    return ip in ipaddress.ip_network(cidr)


@dataclass
class Parser:
    """Recursive descent over the tokens of one condition, evaluated on one event."""

    toks: list[tuple[str, str]]
    event: dict[str, Any]
    pos: int = 0

    def peek(self) -> str:
        return self.toks[self.pos][1] if self.pos < len(self.toks) else ""

    def take(self, expected: str | None = None) -> str:
        kind, value = self.toks[self.pos]
        assert expected is None or value == expected, f"expected {expected}, got {value}"
        self.pos += 1
        return decode(value) if kind == "str" else value

    def value(self, column: str) -> Any:
        assert column in load_mapping().columns(), f"unknown column {column}"
        return self.event.get(column, None if column.endswith("Number") else "")

    def expr(self) -> bool | None:
        result = self.conj()
        while self.peek() == "or":
            self.take()
            right = self.conj()
            result = True if (result or right) else (None if None in (result, right) else False)
        return result

    def conj(self) -> bool | None:
        result = self.unary()
        while self.peek() == "and":
            self.take()
            right = self.unary()
            result = False if (result is False or right is False) else (result and right)
        return result

    def unary(self) -> bool | None:
        if self.peek() == "not":
            self.take()
            self.take("(")
            inner = self.expr()
            self.take(")")
            return None if inner is None else not inner
        if self.peek() == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        return self.call_or_test()

    def call_or_test(self) -> bool | None:
        name = self.take()
        if name in ("isnotempty", "isempty"):
            self.take("(")
            value = self.value(self.take())
            self.take(")")
            empty = value is None or value == ""
            return empty if name == "isempty" else not empty
        if name == "coalesce":
            self.take("(")
            inner = self.cidr()
            self.take(",")
            self.take("false")
            self.take(")")
            return False if inner is None else inner
        if name == "tostring" and self.toks[self.pos + 1][1] == "parse_json":
            # tostring(parse_json(Column).a.b): compact JSON text of a member of the column
            self.take("(")
            self.take("parse_json")
            self.take("(")
            document: Any = json.loads(self.value(self.take()) or "null")
            self.take(")")
            for key in self.take()[1:].split("."):
                document = document.get(key) if isinstance(document, dict) else None
            self.take(")")
            value: Any = "" if document is None else json.dumps(document, separators=(",", ":"))
        elif name == "tostring":
            self.take("(")
            value = str(self.value(self.take()))
            self.take(")")
        else:
            value = self.value(name)
        return self.test(value)

    def cidr(self) -> bool | None:
        function = self.take()
        self.take("(")
        column = self.take()
        self.take(",")
        cidr = self.take()
        self.take(")")
        version = {"ipv4_is_in_range": 4, "ipv6_is_in_range": 6}[function]
        return _in_range(str(self.value(column)), cidr, version)

    def listed(self) -> list[Any]:
        self.take("(")
        items = [self.take()]
        while self.peek() == ",":
            self.take()
            items.append(self.take())
        self.take(")")
        return items

    def test(self, value: Any) -> bool | None:
        op = self.take()
        if op in ("in", "in~"):
            items = self.listed()
            if value is None:
                return None
            if isinstance(value, int):
                return value in [int(i) for i in items]
            return value.lower() in [i.lower() for i in items] if op == "in~" else value in items
        if op == "matches":
            self.take("regex")
            return re.search(self.take(), value) is not None
        right = self.take()
        if value is None:
            return None
        if isinstance(value, int):
            return {"==": value == int(right), "<": value < int(right)}[op]
        cased = op.endswith("_cs") or op == "=="
        left, right = (value, right) if cased else (value.lower(), right.lower())
        base = op.removesuffix("_cs")
        return {
            "==": left == right,
            "=~": left == right,
            "startswith": left.startswith(right),
            "endswith": left.endswith(right),
            "contains": right in left,
        }[base]


def where(text: str) -> str:
    """The condition of a detection rule's query."""
    body = text.split("\n| where ", 1)[1]
    return body


def matches(condition: str, event: dict[str, Any]) -> bool:
    parser = Parser(tokens(condition), event)
    result = parser.expr()
    assert parser.pos == len(parser.toks), f"unparsed rest at token {parser.pos}"
    return result is True


def hits(name: str, events: list[dict[str, Any]]) -> list[int]:
    condition = where(query(name))
    return [n for n, e in enumerate(events) if matches(condition, e)]


# ---- golden files and structure ---------------------------------------------------------------
def _output(name: str) -> tuple[str, str]:
    """(extension, text): the query, or the error message of a rule that cannot convert."""
    try:
        return "kql", query(name) + "\n"
    except RuleError as exc:
        return "error.txt", str(exc).split(": ", 1)[1] + "\n"


@pytest.mark.parametrize("name", _builtin_names())
def test_golden(name: str) -> None:
    ext, text = _output(name)
    path = GOLDEN / f"{name}.{ext}"
    assert_golden(path, text)


@pytest.mark.parametrize(("name", "reason"), sorted(NOT_CONVERTED.items()))
def test_rules_that_cannot_be_converted_say_why(name: str, reason: str) -> None:
    rule = pack().by_ref(name)
    with pytest.raises(RuleError, match=re.escape(reason)) as caught:
        kql.convert(rule, pack(), "kql")
    assert caught.value.file == rule.path and caught.value.line == rule.line
    if "has no column" in reason:
        assert "pipelines/sentinel_asim.yml" in str(caught.value)


def _outside_strings(text: str) -> tuple[str, list[str]]:
    """The text with string literals blanked, and the literals; asserts they all close."""
    code = "\n".join(line for line in text.splitlines() if not line.startswith("//"))
    literals = re.findall(r'"(?:[^"\\\n]|\\.)*"', code)
    rest = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', code)
    assert '"' not in rest.replace('""', ""), "unbalanced quote"
    return rest, [decode(lit) for lit in literals]


@pytest.mark.parametrize("name", [n for n in _builtin_names() if n not in NOT_CONVERTED])
def test_structure(name: str) -> None:
    text = query(name)
    code, literals = _outside_strings(text)
    assert_balanced_parentheses(code)
    columns = load_mapping().columns()
    tables = {t.name for t in load_mapping().tables.values()}
    json_paths = {c.path for t in load_mapping().tables.values() for c in t.fields.values()}
    for path in re.findall(r"(?<=\))\.([A-Za-z_][A-Za-z0-9_.]*)", code):
        assert path in json_paths, f"JSON path {path} is not in the mapping"
    code = re.sub(r"(?<=\))(\.[A-Za-z_][A-Za-z0-9_]*)+", "", code)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*~?", code))
    unknown = words - columns - tables - KQL_WORDS - DERIVED
    assert not unknown, f"identifiers outside the mapping: {sorted(unknown)}"
    assert not re.search(r"\b[a-z_]+\.[a-z_.]+\b", code), "an ECS field name is left in the query"
    assert not columns & set(literals), "a column name is written as a string"
    for literal in [lit for lit in literals if lit.startswith("(?")]:
        re.compile(literal)  # every regex compiles (Python re ~ RE2 on these constructs)


def test_every_condition_parses_in_the_model() -> None:
    for name in _builtin_names():
        if name in NOT_CONVERTED or pack().by_ref(name).is_correlation:
            continue
        parser = Parser(tokens(where(query(name))), {})
        parser.expr()
        assert parser.pos == len(parser.toks), name


# ---- seed defects --------------------------------------------------------------------------
def test_e3_case_insensitive_operators() -> None:
    events = [{"TargetProcessName": "XMRig"}, {"TargetProcessName": "/opt/x/XMRIG"}]
    assert hits("miner_process", events) == [0, 1]
    assert 'TargetProcessName matches regex "(?is)(^|[/' in query("miner_process")


def test_e4_windows_exe_and_paths() -> None:
    events = [
        {"TargetProcessName": "C:\\Users\\a\\xmrig.exe"},
        {"TargetProcessName": "xmrig.exe"},
        {"TargetProcessName": "/tmp/.x/xmrig"},
        {"TargetProcessName": "/usr/bin/notxmrig-helper.sh"},
    ]
    assert hits("miner_process", events) == [0, 1, 2]


def test_e5_donate_level_and_renamed_miner() -> None:
    events = [
        {"TargetProcessCommandLine": "./sysupdate -o pool.example.com:3333 --donate-level=1"},
        {"TargetProcessCommandLine": "./sysupdate -o pool.supportxmr.com:3333"},
        {"TargetProcessCommandLine": "./sysupdate --donate-level 1"},
        {"TargetProcessCommandLine": "grep donate-level README"},
    ]
    assert hits("miner_cmdline", events) == [0, 1, 2]


def test_e6_stratum_variants() -> None:
    events = [
        {"TargetProcessCommandLine": "x -o stratum2+tcp://a.example:1"},
        {"TargetProcessCommandLine": "x -o STRATUM+TLS://a.example:1"},
        {"TargetProcessCommandLine": "x -o stratum+ssl://a.example:1"},
        {"TargetProcessCommandLine": "curl https://a.example/stratum"},
    ]
    assert hits("miner_cmdline", events) == [0, 1, 2]


def test_e7_e8_e9_dns_label_boundary_case_and_any_event_type() -> None:
    names = [
        "pool.minexmr.com",
        "xmr-eu1.nanopool.org",
        "SupportXMR.com",
        "supportxmr.com.",
        "notminexmr.com",
        "minexmr.com.evil.example",
    ]
    assert hits("pool_dns", [{"DnsQuery": n} for n in names]) == [0, 1, 2, 3]
    assert "EventType" not in query("pool_dns") and "EventSubType" not in query("pool_dns")


PUBLIC = "45.9.148.21"


def _connection(ip: str, port: int = 3333, **more: Any) -> dict[str, Any]:
    return {"DstIpAddr": ip, "DstPortNumber": port, **more}


@pytest.mark.parametrize(
    "cidr",
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
    ],
)
def test_e11_a1_each_private_range_is_a_real_cidr_test(cidr: str) -> None:
    assert f'ipv4_is_in_range(DstIpAddr, "{cidr}")' in query("pool_connection")
    network = ipaddress.ip_network(cidr)
    inside = [str(network.network_address + 1), str(network.broadcast_address)]
    outside = str(network.broadcast_address + 1)
    events = [_connection(ip) for ip in [*inside, outside]]
    expected = [] if ipaddress.ip_address(outside).is_private else [2]
    assert hits("pool_connection", events) == expected


def test_a1_all_of_172_16_slash_12_and_not_beyond() -> None:
    events = [_connection(ip) for ip in ("172.20.1.5", "172.31.255.254", "172.32.0.1", PUBLIC)]
    assert hits("pool_connection", events) == [2, 3]


def test_a2_ipv6_and_mapped_ranges() -> None:
    addresses = ["fd12:3456::1", "fe80::1", "::1", "::ffff:10.0.0.1", "::ffff:a00:1", "2a01:4f8::1"]
    assert hits("pool_connection", [_connection(ip) for ip in addresses]) == [5]
    text = query("pool_connection")
    assert 'ipv6_is_in_range(DstIpAddr, "fc00::/7")' in text
    assert 'ipv6_is_in_range(DstIpAddr, "::ffff:ac10:0/108")' in text  # 172.16.0.0/12 mapped


def test_e13_browsers_by_path_not_name() -> None:
    chrome = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
    fake = "C:\\Users\\a\\AppData\\Local\\Temp\\chrome.exe"
    events = [
        _connection(PUBLIC, SrcProcessName=chrome),
        _connection(PUBLIC, SrcProcessName=fake),
        _connection(PUBLIC, SrcProcessName="/usr/lib/firefox/firefox"),
    ]
    assert hits("pool_connection", events) == [1]


def test_e14_pool_domain_on_any_port() -> None:
    events = [
        _connection(PUBLIC, 443, DstFQDN="pool.supportxmr.com"),
        _connection(PUBLIC, 80, DstFQDN="xmr-eu1.nanopool.org"),
        _connection(PUBLIC, 443, DstFQDN="example.com"),
    ]
    assert hits("pool_connection", events) == [0, 1]


def test_e15_bitcoin_p2p_port_is_not_a_pool_port() -> None:
    assert "8333" not in query("pool_connection")
    assert hits("pool_connection", [_connection(PUBLIC, 8333)]) == []


# ---- the correlation -----------------------------------------------------------------------
def _steps(text: str) -> dict[str, list[tuple[str, str]]]:
    """Step name -> [(table, where-condition)] from the ``let`` statements."""
    steps: dict[str, list[tuple[str, str]]] = {}
    for name, body in re.findall(r"let (Step\d) = (.*?);\n(?=let |Step0\n)", text, re.S):
        parts = re.findall(r"(im\w+|AWSCloudTrail)\n    \| where (.*?)\n    \| project", body, re.S)
        steps[name] = parts
    return steps


def _run_correlation(events: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pairs (step-0 event, step-1 event) as the query's join and window select them."""
    text = query("miner_then_pool")
    steps = _steps(text)
    window = re.search(r"between \(Step0Time \.\. Step0Time \+ (\d+)m\)", text)
    assert window
    span = timedelta(minutes=int(window.group(1)))
    rows = {
        step: [
            n
            for n, e in enumerate(events)
            if any(e["table"] == table and matches(cond, e) for table, cond in parts)
        ]
        for step, parts in steps.items()
    }
    return [
        (a, b)
        for a in rows["Step0"]
        for b in rows["Step1"]
        if events[a]["DvcHostname"]
        and events[a]["DvcHostname"] == events[b]["DvcHostname"]
        and events[a]["TimeGenerated"]
        <= events[b]["TimeGenerated"]
        <= events[a]["TimeGenerated"] + span
    ]


def test_correlation_checks_order_and_window_in_the_query() -> None:
    text = query("miner_then_pool")
    assert "| join kind=inner (Step1) on DvcHostname" in text
    assert "| where Step1Time between (Step0Time .. Step0Time + 5m)" in text
    assert 'iff(SameProcess, "critical", "high")' in text
    assert set(_steps(text)) == {"Step0", "Step1"}
    assert [t for t, _ in _steps(text)["Step1"]] == ["imNetworkSession", "imDns"]


def test_correlation_semantics_in_the_model() -> None:
    t0 = datetime(2026, 1, 1, 12, 0)
    miner = {"table": "imProcessCreate", "TargetProcessName": "/tmp/xmrig", "DvcHostname": "h1"}
    dns = {"table": "imDns", "DnsQuery": "pool.minexmr.com", "DvcHostname": "h1"}
    events = [
        {**miner, "TimeGenerated": t0},
        {**dns, "TimeGenerated": t0 + timedelta(minutes=2)},  # in order, in window
        {**dns, "TimeGenerated": t0 - timedelta(minutes=1)},  # before the miner
        {**dns, "TimeGenerated": t0 + timedelta(minutes=6)},  # after the window
        {**dns, "TimeGenerated": t0 + timedelta(minutes=1), "DvcHostname": "h2"},  # other host
    ]
    assert _run_correlation(events) == [(0, 1)]


# ---- values, indicators, unmapped fields -----------------------------------------------------
HOSTILE = 'x\' or 1=1 --" or true or "\\'


def test_hostile_value_stays_a_value() -> None:
    _, condition = kql.condition_of(
        _rule({"sel": {"process.command_line": HOSTILE}, "condition": "sel"})
    )
    assert condition == f"TargetProcessCommandLine =~ {kql.kql_string(HOSTILE)}"
    assert matches(condition, {"TargetProcessCommandLine": HOSTILE.upper()})
    assert not matches(condition, {"TargetProcessCommandLine": "x"})


def test_control_characters_fail() -> None:
    rule = _rule({"sel": {"process.command_line": "a\x01b"}, "condition": "sel"})
    with pytest.raises(RuleError, match="control character"):
        kql.condition_of(rule)


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ({"process.command_line": "A"}, 'TargetProcessCommandLine =~ "A"'),
        ({"process.command_line|cased": "A"}, 'TargetProcessCommandLine == "A"'),
        ({"process.command_line|startswith": "a"}, 'TargetProcessCommandLine startswith "a"'),
        ({"process.command_line|cased|endswith": "a"}, 'TargetProcessCommandLine endswith_cs "a"'),
        ({"process.command_line|contains": "a"}, 'TargetProcessCommandLine contains "a"'),
        ({"process.command_line": "a*b"}, 'TargetProcessCommandLine matches regex "(?is)^a.*b$"'),
        ({"process.command_line": ["a", "b"]}, 'TargetProcessCommandLine in~ ("a", "b")'),
        ({"process.command_line|exists": True}, "isnotempty(TargetProcessCommandLine)"),
        (
            {"process.args": "--coin"},
            'TargetProcessCommandLine matches regex "(?is)(^|\\\\s)(\\\\-\\\\-coin)(\\\\s|$)"',
        ),
    ],
)
def test_leaf_forms(detection: dict[str, Any], expected: str) -> None:
    _, condition = kql.condition_of(_rule({"sel": detection, "condition": "sel"}))
    assert condition == expected


def test_not_is_true_for_a_missing_number() -> None:
    rule = _rule({"sel": {"destination.port": 3333}, "condition": "not sel"}, "network_connection")
    _, condition = kql.condition_of(rule)
    assert condition == "not((isnotempty(DstPortNumber) and DstPortNumber == 3333))"
    assert matches(condition, {}) and not matches(condition, {"DstPortNumber": 3333})


def test_changing_an_indicator_value_changes_the_query() -> None:
    rule = _rule({"sel": {"process.name|expand": "%miner_names%"}, "condition": "sel"})
    pipeline = placeholder_pipeline()
    before = kql.condition_of(rule, pipeline)[1]
    pipeline.vars = {**pipeline.vars, "miner_names": ["only-this-miner"]}
    after = kql.condition_of(rule, pipeline)[1]
    assert before != after
    assert "only\\\\-this\\\\-miner" in after and "xmrig" not in after


def test_unmapped_field_fails_only_its_rule() -> None:
    bad = _rule({"sel": {"container.image.name": "x"}, "condition": "sel"})
    with pytest.raises(RuleError, match=re.escape("'container.image.name'")) as caught:
        kql.convert(bad, pack(), "kql")
    assert "imProcessCreate" in str(caught.value) and "sentinel_asim.yml" in str(caught.value)
    target = Target("kql", "KQL", kql.FORMATS, kql.convert)
    result = convert_pack(pack(), target, "kql", [bad, pack().by_ref("miner_process")])
    assert result.converted == ["miner_process"] and len(result.errors) == 1
    assert "rule 't' cannot be converted" in str(result.errors[0])  # the bad rule, not the good


def test_unknown_format_fails() -> None:
    with pytest.raises(RuleError, match="unknown format"):
        kql.convert(pack().by_ref("miner_process"), pack(), "json")


def test_launch_permissions_are_keys_inside_request_parameters() -> None:
    """ModifyImageAttribute's launch permission: a "group" or "userId" key in any item."""
    text = query("cloud_image_launch")
    items = "tostring(parse_json(RequestParameters).launchPermission.add.items)"
    assert f'{items} matches regex "\\"group\\"\\\\s*:"' in text
    assert f'{items} matches regex "\\"userId\\"\\\\s*:"' in text

    def modify(parameters: dict[str, Any]) -> dict[str, Any]:
        return {
            "EventSource": "ec2.amazonaws.com",
            "EventName": "ModifyImageAttribute",
            "RequestParameters": json.dumps(parameters),
        }

    public = {"imageId": "ami-1", "launchPermission": {"add": {"items": [{"group": "all"}]}}}
    shared = {"launchPermission": {"add": {"items": [{"userId": "111122223333"}]}}}
    removed = {"launchPermission": {"remove": {"items": [{"group": "all"}]}}}
    description = {"description": {"value": "group: all"}}
    events = [modify(public), modify(shared), modify(removed), modify(description)]
    assert hits("cloud_image_launch", events) == [0, 1]


def test_a_json_key_field_refuses_value_tests() -> None:
    rule = SigmaCollection.from_yaml(
        """
title: value on a JSON key
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    aws.ec2.launch_permission_groups: all
  condition: sel
"""
    ).rules[0]
    table = load_mapping().tables["aws_cloudtrail"]
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="only exists tests"):
        kql.KqlBackend(table).convert_rule(rule)
