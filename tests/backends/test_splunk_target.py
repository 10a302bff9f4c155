"""The Splunk SPL target: golden files, structure, field mapping, seed defects, samples.

No Splunk runs here. Each converted rule's ``where`` expression is evaluated on the rule's
true-positive and true-negative samples (mapped to CIM fields through the pipeline's
mapping) by a small evaluator of the SPL subset the target writes (``_Evaluator``, below):
three-valued AND/OR/NOT and the eval functions used, with PCRE patterns run by Python's
``re``. That checks what the query means, not how Splunk implements it (see
docs/targets.md, "What cannot be verified here").
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sigma.rule import SigmaRule

from imagehunt import schema
from imagehunt.backends import splunk
from imagehunt.backends.splunk_cim import cim_pipeline, dataset_for, datasets, splunk_fields
from imagehunt.backends.splunk_spl import re2_to_pcre, spl_string
from imagehunt.backends.targets import Target, convert_pack
from imagehunt.errors import RuleError
from imagehunt.rulepack import PackRule, RulePack, load_pack
from imagehunt.sources.normalize import flatten
from support.pack_rules import pack_rule as _rule
from support.query_text import assert_balanced_parentheses, assert_golden

GOLDEN = Path(__file__).parent / "golden" / "splunk"
RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
HOSTILE = "x' or 1=1 --\" ) | delete \\"

# Rules that cannot be converted, and the words their error must contain.
NOT_CONVERTED = {
    "cloud_image_inventory": "context rule: not a detection",
    "container_credential_exposure": "field 'container.id' has no Splunk field",
    "container_downloader": "field 'container.id' has no Splunk field",
    "image_pull_malicious_namespace": "has no Splunk dataset",
    "image_pull_typosquat": "has no Splunk dataset",
}
# (rule, sample kind, line) -> why the SPL meaning differs from the scan's there.
_ARGS_ONLY = (
    "args-only event (auditd EXECVE without a command line): the query's process_args is "
    'split(process, " "), so an event without `process` has no arguments'
)
SAMPLE_DIFFERENCES: dict[tuple[str, str, int], str] = {
    ("miner_cmdline", "tp", 22): _ARGS_ONLY,
    ("miner_cmdline", "tp", 24): _ARGS_ONLY,
}
# Rules whose level is decided per event by imagehunt: their true negatives are events the
# assessment rates below alert level; the search (selection only) reports them.
ASSESSED = {"cloud_image_launch"}
DATASET_CATEGORY = {"process_creation": "process", "network_connection": "network"}
INTERNAL_FIELDS = {
    "_time",
    "imagehunt_step",
    "imagehunt_first_time",
    "imagehunt_first_pids",
    "imagehunt_level",
    "index",
    "tag",
    "sourcetype",
}
FUNCTIONS_USED = {
    "match",
    "mvfind",
    "isnull",
    "isnotnull",
    "cidrmatch",
    "in",
    "tostring",
    "tonumber",
    "mvcount",
    "mvfilter",
    "split",
    "searchmatch",
    "case",
    "if",
    "null",
    "max",
    "values",
    "eval",
}
KEYWORDS = {
    "AND",
    "OR",
    "NOT",
    "where",
    "eval",
    "sort",
    "streamstats",
    "dedup",
    "by",
    "AS",
    "time_window",
}


# ---- the evaluator -------------------------------------------------------------------------
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<field>\'[^\']*\')|(?P<num>-?\d+)'
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><=|>=|!=|[()=,<>.-]))"
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        found = _TOKEN.match(text, pos)
        if not found or found.end() == pos:
            raise ValueError(f"cannot tokenize at {text[pos : pos + 20]!r}")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        pos = found.end()
    return tokens


def spl_literal(token: str) -> str:
    """The value of an SPL double-quoted literal."""
    return re.sub(r"\\(.)", r"\1", token[1:-1], flags=re.S)


def python_regex(pcre: str) -> re.Pattern[str]:
    """A PCRE pattern of the target as a Python regex (``\\z`` and ``\\x{..}`` rewritten)."""
    text = re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", pcre)
    text = re.sub(r"\\x\{([0-9a-f]{2})\}", r"\\x\1", text)
    return re.compile(text)


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _cidr(network: str, address: Any) -> bool | None:
    if address is None:
        return None
    try:
        return ipaddress.ip_address(str(address)) in ipaddress.ip_network(network)
    except ValueError:
        return False


def _match(value: Any, pattern: str) -> bool | None:
    if value is None:
        return None
    return python_regex(pattern).search(str(value)) is not None


def _mvfind(value: Any, pattern: str | None) -> int | None:
    if pattern is None:
        return None
    regex = python_regex(pattern)
    return next((i for i, v in enumerate(_values(value)) if regex.search(str(v))), None)


_FUNCTIONS: dict[str, Any] = {
    "match": _match,
    "mvfind": _mvfind,
    "isnull": lambda v: v is None,
    "isnotnull": lambda v: v is not None,
    "cidrmatch": _cidr,
    "in": lambda v, *items: None if v is None else v in items,
    "tostring": lambda v: None if v is None else str(v),
    "tonumber": lambda v: None if v is None else float(v),
    "mvcount": lambda v: None if v is None else len(_values(v)),
    "case": lambda *a: next((a[i + 1] for i in range(0, len(a), 2) if a[i] is True), None),
    "if": lambda c, a, b: a if c is True else b,
    "null": lambda: None,
}


def _or(a: Any, b: Any) -> Any:
    return True if True in (a, b) else (None if None in (a, b) else False)


def _and(a: Any, b: Any) -> Any:
    return False if False in (a, b) else (None if None in (a, b) else True)


class _Evaluator:
    """Recursive descent over the tokens; null is "unknown" (three-valued logic)."""

    def __init__(self, tokens: list[tuple[str, str]], event: dict[str, Any]) -> None:
        self.tokens, self.pos, self.event = tokens, 0, event

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        assert expected is None or token[1] == expected, (expected, token)
        self.pos += 1
        return token

    def run(self) -> Any:
        value = self.disjunction()
        assert self.pos == len(self.tokens), self.tokens[self.pos :]
        return value

    def disjunction(self) -> Any:
        value = self.conjunction()
        while self.peek() == "OR":
            self.take()
            value = _or(value, self.conjunction())
        return value

    def conjunction(self) -> Any:
        value = self.negation()
        while self.peek() == "AND":
            self.take()
            value = _and(value, self.negation())
        return value

    def negation(self) -> Any:
        if self.peek() == "NOT":
            self.take()
            value = self.negation()
            return None if value is None else not value
        left = self.difference()
        if self.peek() in ("=", "<", ">", "<=", ">="):
            op, right = self.take()[1], self.difference()
            if left is None or right is None:
                return None
            a, b = float(left), float(right)
            return {"=": a == b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return left

    def difference(self) -> Any:
        value = self.atom()
        while self.peek() in ("-", "."):
            op, other = self.take()[1], self.atom()
            if value is None or other is None:
                value = None
            else:
                value = float(value) - float(other) if op == "-" else f"{value}{other}"
        return value

    def atom(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.disjunction()
            self.take(")")
            return value
        if kind == "str":
            return spl_literal(text)
        if kind == "num":
            return int(text)
        if kind == "field":
            return self.event.get(text[1:-1])
        if self.peek() != "(":
            return self.event.get(text)
        if text == "mvfilter":
            return self.mvfilter()
        if text == "searchmatch":
            self.take("(")
            wanted = spl_literal(self.take()[1])
            self.take(")")
            tags = set(self.event.get("tag", []))
            return all(term.removeprefix("tag=") in tags for term in wanted.split())
        self.take("(")
        if self.peek() == ")":
            self.take()
            return _FUNCTIONS[text]()
        args = [self.disjunction()]
        while self.peek() == ",":
            self.take()
            args.append(self.disjunction())
        self.take(")")
        return _FUNCTIONS[text](*args)

    def mvfilter(self) -> Any:
        start, depth = self.pos, 0
        while True:
            text = self.take()[1]
            depth += {"(": 1, ")": -1}.get(text, 0)
            if depth == 0:
                break
        inner = self.tokens[start + 1 : self.pos - 1]
        name = next(t for k, t in inner if k in ("word", "field") and t not in _FUNCTIONS)
        kept = [
            v
            for v in _values(self.event.get(name.strip("'")))
            if _Evaluator(inner, {**self.event, name.strip("'"): v}).run() is True
        ]
        return kept or None


def evaluate(expression: str, event: dict[str, Any]) -> bool:
    """True when the ``where`` expression is true for ``event`` (null is no match)."""
    return _Evaluator(_tokenize(expression), event).run() is True


# ---- harness -------------------------------------------------------------------------------
@cache
def pack() -> RulePack:
    return load_pack()


@cache
def converted(name: str) -> str:
    return splunk.convert(pack().by_ref(name), pack(), "spl")


def _builtin() -> list[PackRule]:
    return [r for r in pack().rules if r.builtin]


def _converted_names() -> list[str]:
    return sorted(r.name for r in _builtin() if r.name not in NOT_CONVERTED)


def where_of(query: str) -> str:
    lines = [line for line in query.splitlines() if line.startswith("| where ")]
    return lines[0].removeprefix("| where ")


def _in_dataset(category: str | None, ecs: dict[str, Any]) -> bool:
    """Whether the base search finds the event: CIM Processes are process launches, so a
    process end or a network event of a process is not in it (assuming the add-on tags so)."""
    wanted = DATASET_CATEGORY.get(category or "")
    if wanted is None:
        return True
    if wanted not in _values(ecs.get("event.category")):
        return False
    return wanted != "process" or "end" not in _values(ecs.get("event.type"))


def cim_event(rule: PackRule, line: str) -> dict[str, Any] | None:
    """A sample line as the CIM event the mapping describes (``process_args`` as the query
    computes it: the command line split on spaces); None when not in the rule's dataset."""
    assert isinstance(rule.sigma, SigmaRule)
    source = rule.sigma.logsource
    dataset = dataset_for(source.category, source.product, source.service)
    assert dataset is not None
    ecs = dict(flatten({k: v for k, v in json.loads(line).items() if not k.startswith("_")}))
    if not _in_dataset(source.category, ecs):
        return None
    event = {cim: ecs[name] for name, cim in dataset.fields.items() if ecs.get(name) is not None}
    event = {k: (v if not isinstance(v, list) or v else None) for k, v in event.items()}
    if "process" in event and "process.args" in dataset.fields:
        event["process_args"] = str(event["process"]).split(" ")
    else:
        event.pop("process_args", None)
    return {k: v for k, v in event.items() if v is not None}


_TAGS = {
    "process_creation": ["process", "report"],
    "network_connection": ["network", "communicate"],
    "dns": ["network", "resolution", "dns"],
}


def correlation_event(line: str) -> dict[str, Any] | None:
    """A sample line as a CIM event of the correlation's search, with its CIM tags."""
    data = json.loads(line)
    ecs = dict(flatten({k: v for k, v in data.items() if not k.startswith("_")}))
    if "dns.question.name" in ecs:
        category = "dns"
    elif "process" in _values(ecs.get("event.category")):
        category = "process_creation"
    else:
        category = "network_connection"
    if not _in_dataset(category, ecs):
        return None
    dataset = dataset_for(category, None, None)
    assert dataset is not None
    event: dict[str, Any] = {"tag": _TAGS[category], "_case": data["_case"]}
    event |= {cim: ecs[n] for n, cim in dataset.fields.items() if ecs.get(n) not in (None, [])}
    if "process" in event and category == "process_creation":
        event["process_args"] = str(event["process"]).split(" ")
    event["_time"] = datetime.fromisoformat(data["@timestamp"].replace("Z", "+00:00")).timestamp()
    return event


def _expression(lines: list[str], prefix: str) -> str:
    return next(line for line in lines if line.startswith(prefix)).removeprefix(prefix)


def run_correlation(query: str, events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The search's pipeline run in Python: (step-1 case, step-2 case, level) per result."""
    lines = query.splitlines()
    wheres = [line.removeprefix("| where ") for line in lines if line.startswith("| where ")]
    step = _expression(lines, "| eval imagehunt_step=")
    level = _expression(lines, "| eval imagehunt_level=")
    rows = []
    for event in events:
        event["imagehunt_step"] = _Evaluator(_tokenize(step), event).run()
        if evaluate(wheres[0], event):
            rows.append(event)
    rows.sort(key=lambda e: (e["_time"], e["imagehunt_step"]))  # sort 0 +_time, +imagehunt_step
    results, seen = [], set()
    for index, row in enumerate(rows):
        window = [
            r
            for r in rows[: index + 1]
            if r["host"] == row["host"] and r["_time"] > row["_time"] - 300 - 1e-9
        ]  # streamstats time_window=5m ... by host
        firsts = [r for r in window if r["imagehunt_step"] == 1]
        row["imagehunt_first_time"] = max((r["_time"] for r in firsts), default=None)
        row["imagehunt_first_pids"] = [r["process_id"] for r in firsts if "process_id" in r] or None
        if not evaluate(wheres[1], row):
            continue
        key = (row["host"], row["imagehunt_first_time"])  # dedup host imagehunt_first_time
        if key in seen:
            continue
        seen.add(key)
        first = next(r for r in firsts if r["_time"] == row["imagehunt_first_time"])
        results.append((first["_case"], row["_case"], _Evaluator(_tokenize(level), row).run()))
    return results


def _where(detection: dict[str, Any], category: str = "process_creation") -> str:
    return splunk.condition_of(_rule(detection, category))[1]


def strip_literals(text: str) -> str:
    """``text`` with comments and double-quoted literals removed (single-quoted fields kept)."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text, flags=re.S)


# ---- every shipped rule --------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(r.name for r in load_pack().rules if r.builtin))
def test_golden(name: str) -> None:
    rule = pack().by_ref(name)
    if name in NOT_CONVERTED:
        with pytest.raises(RuleError) as caught:
            splunk.convert(rule, pack(), "spl")
        assert caught.value.file == rule.path and caught.value.line == rule.line
        assert NOT_CONVERTED[name] in str(caught.value)
        text, path = str(caught.value).split(": ", 1)[1] + "\n", GOLDEN / f"{name}.error.txt"
    else:
        text, path = converted(name) + "\n", GOLDEN / f"{name}.spl"
    assert_golden(path, text)


def test_no_stale_golden_files() -> None:
    names = {r.name for r in _builtin()}
    assert {p.name.split(".")[0] for p in GOLDEN.iterdir()} == names


@pytest.mark.parametrize("name", _converted_names())
def test_structure_balanced(name: str) -> None:
    text = strip_literals(converted(name))
    assert text.count('"') % 2 == 0 and "```" not in text
    assert_balanced_parentheses(re.sub(r"'[^']*'", "''", text))
    assert text.count("'") % 2 == 0
    for line in converted(name).splitlines()[1:]:
        assert line.startswith(("```", "index=*", "| ")), line


@pytest.mark.parametrize("name", _converted_names())
def test_fields_belong_to_the_mapping(name: str) -> None:
    text = strip_literals(converted(name))
    body = "\n".join(line for line in text.splitlines() if line.startswith("| "))
    allowed = splunk_fields() | INTERNAL_FIELDS
    quoted = set(re.findall(r"'([^']*)'", body))
    words = set(
        re.findall(r"(?<![\w.'])([A-Za-z_][A-Za-z0-9_]*)(?![\w'])", re.sub(r"'[^']*'", "", body))
    )
    fields = (words - KEYWORDS - FUNCTIONS_USED) | quoted
    assert fields - allowed - {"0"} == set(), fields - allowed
    for ecs in (f.name for f in schema.FIELDS if "." in f.name or f.name.startswith("@")):
        assert not re.search(rf"(?<![\w.']){re.escape(ecs)}(?![\w])", text), ecs


@pytest.mark.parametrize("name", _converted_names())
def test_every_where_expression_evaluates(name: str) -> None:
    for line in converted(name).splitlines():
        if line.startswith("| where "):
            evaluate(line.removeprefix("| where "), {})  # parses the whole expression


def _sample_cases() -> list[tuple[str, str]]:
    return [
        (n, kind)
        for n in _converted_names()
        if not pack().by_ref(n).is_correlation
        for kind in ("tp", "tn")
        if (n, kind) not in {(a, "tn") for a in ASSESSED}
    ]


@pytest.mark.parametrize(("name", "kind"), _sample_cases())
def test_samples_mean_what_the_scan_means(name: str, kind: str) -> None:
    rule = pack().by_ref(name)
    where = where_of(converted(name))
    wrong = []
    for number, line in enumerate(
        (RULES_DIR / name / f"{kind}.ndjson").read_text().splitlines(), 1
    ):
        if not line.strip() or (name, kind, number) in SAMPLE_DIFFERENCES:
            continue
        event = cim_event(rule, line)
        if (event is not None and evaluate(where, event)) != (kind == "tp"):
            wrong.append((number, json.loads(line).get("_case")))
    assert wrong == []


def test_sample_differences_are_still_differences() -> None:
    for (name, kind, number), _reason in SAMPLE_DIFFERENCES.items():
        rule = pack().by_ref(name)
        line = (RULES_DIR / name / f"{kind}.ndjson").read_text().splitlines()[number - 1]
        event = cim_event(rule, line)
        assert event is not None
        assert evaluate(where_of(converted(name)), event) != (kind == "tp")


def test_other_rules_convert_when_one_fails() -> None:
    target = Target("splunk", "SPL", splunk.FORMATS, splunk.convert)
    bad = _rule({"sel": {"container.id": "abc"}, "condition": "sel"})
    result = convert_pack(pack(), target, "spl", [bad, pack().by_ref("miner_process")])
    assert result.converted == ["miner_process"]
    assert len(result.errors) == 1
    message = str(result.errors[0])
    assert "'container.id'" in message and "cim_endpoint_processes" in message
    assert "splunk_cim.yml" in message


# ---- seed defects --------------------------------------------------------------------------
def _event_matches(name: str, **fields: Any) -> bool:
    return evaluate(where_of(converted(name)), fields)


def test_e3_names_match_case_insensitively() -> None:
    assert '"(?is)^(?:xmrig' in converted("miner_process")
    assert _event_matches("miner_process", process_name="XMRig")


def test_e4_windows_names_and_paths() -> None:
    assert "xmrig.*\\\\.exe" in converted("miner_process")
    assert _event_matches("miner_process", process_name="xmrig.exe")
    assert _event_matches("miner_process", process_name="x", process_path="C:\\Temp\\XMRig.exe")
    assert _event_matches("miner_process", process_name="x", process_path="/tmp/.x/xmrig")
    assert not _event_matches("miner_process", process_name="x", process_path="/opt/notxmrig")


def test_e5_donate_level_with_value_and_renamed_miner_args() -> None:
    process = "./sysupdate -o pool.supportxmr.com:3333 --donate-level=1"
    assert _event_matches(
        "miner_cmdline", process="./x --donate-level=1", process_args=["./x", "--donate-level=1"]
    )
    assert _event_matches("miner_cmdline", process=process, process_args=process.split(" "))


def test_e6_stratum_variants() -> None:
    for url in ("stratum2+tcp://p.example:3333", "STRATUM+TLS://p.example:443"):
        assert _event_matches("miner_cmdline", process=f"./x -o {url}")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pool.minexmr.com", True),
        ("xmr-eu1.nanopool.org", True),
        ("SupportXMR.com", True),
        ("supportxmr.com.", True),
        ("notminexmr.com", False),
        ("minexmr.com.evil.example", False),
    ],
)
def test_e7_e8_dns_subdomains_on_a_label_boundary(query: str, expected: bool) -> None:
    assert _event_matches("pool_dns", query=query) is expected


def test_e9_dns_needs_no_event_type() -> None:
    text = converted("pool_dns")
    assert "index=* tag=network tag=resolution tag=dns\n" in text
    assert "connection" not in text and "type" not in strip_literals(where_of(text))


PRIVATE = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
]


@pytest.mark.parametrize("network", PRIVATE)
def test_e11_a1_a2_private_ranges_are_real_cidr_tests(network: str) -> None:
    assert f'cidrmatch("{network}", dest_ip)' in converted("pool_connection")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.20.30.40", False),
        ("172.20.1.5", False),
        ("172.31.255.1", False),
        ("172.32.0.1", True),
        ("fd12:3456::1", False),
        ("fe80::1", False),
        ("::ffff:10.0.0.1", False),
        ("100.64.1.1", False),
        ("45.9.148.21", True),
        ("2a01:4f8::1", True),
    ],
)
def test_e11_a1_a2_reserved_addresses_excluded(address: str, expected: bool) -> None:
    assert _event_matches("pool_connection", dest_ip=address, dest_port="3333") is expected
    assert "172.16.%" not in converted("pool_connection")


def test_e13_browsers_excluded_by_path_not_name() -> None:
    text = converted("pool_connection")
    assert "process_name" not in text
    assert re.search(r"NOT \(+isnotnull\(process_path\) AND match\(process_path", text)
    public = {"dest_ip": "45.9.148.21", "dest_port": "3333"}
    assert _event_matches(
        "pool_connection", process_path="C:\\Users\\a\\AppData\\Local\\Temp\\chrome.exe", **public
    )
    assert not _event_matches(
        "pool_connection",
        process_path="C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        **public,
    )
    assert _event_matches("pool_connection", **public)  # no path: still an alert


def test_e14_pool_domains_on_any_port() -> None:
    assert _event_matches(
        "pool_connection", dest_host="pool.supportxmr.com", dest_port="443", dest_ip="10.1.1.1"
    )


def test_e15_bitcoin_port_is_not_a_pool_port() -> None:
    assert '"8333"' not in converted("pool_connection")
    assert not _event_matches("pool_connection", dest_ip="45.9.148.21", dest_port="8333")


def test_correlation_checks_order_and_window() -> None:
    text = converted("miner_then_pool")
    lines = text.splitlines()
    step = next(line for line in lines if line.startswith("| eval imagehunt_step=case("))
    first, second = (
        step.index('searchmatch("tag=process tag=report")'),
        step.index("tag=network tag=communicate"),
    )
    assert first < second and step.endswith(", 2)") and ", 1, (searchmatch(" in step
    assert "| sort 0 +_time, +imagehunt_step" in lines
    stats = next(line for line in lines if line.startswith("| streamstats"))
    assert stats.startswith("| streamstats time_window=5m ") and stats.endswith(" by host")
    assert (
        "| where imagehunt_step=2 AND isnotnull(imagehunt_first_time) AND "
        "imagehunt_first_time <= _time AND _time - imagehunt_first_time <= 300"
    ) in lines
    assert lines.index("| sort 0 +_time, +imagehunt_step") < lines.index(stats)
    assert '"critical", "high")' in text


def _correlation_samples(kind: str) -> list[dict[str, Any]]:
    lines = (RULES_DIR / "miner_then_pool" / f"{kind}.ndjson").read_text().splitlines()
    return [e for e in (correlation_event(line) for line in lines if line.strip()) if e]


def test_correlation_true_positives_in_order_with_levels() -> None:
    results = run_correlation(converted("miner_then_pool"), _correlation_samples("tp"))
    lines = (RULES_DIR / "miner_then_pool" / "tp.ndjson").read_text().splitlines()
    expected = {}
    for line in lines:
        data = json.loads(line)
        expected.setdefault(data["_chain"], []).append((data["_case"], data["_expect_level"]))
    want = [(chain[0][0], chain[1][0], chain[0][1]) for chain in expected.values()]
    assert sorted(results) == sorted(want)


def test_correlation_true_negatives_order_window_host() -> None:
    assert run_correlation(converted("miner_then_pool"), _correlation_samples("tn")) == []


# ---- conversion details --------------------------------------------------------------------
def test_hostile_value_stays_a_value() -> None:
    where = _where({"sel": {"process.name": HOSTILE}, "condition": "sel"})
    _tokenize(where)
    assert evaluate(where, {"process_name": HOSTILE})
    assert not evaluate(where, {"process_name": "x"})
    assert where.count('"') - where.count('\\"') == 2


def test_regex_values_are_escaped() -> None:
    where = _where({"sel": {"process.command_line|re": 'a"b\\\\c$'}, "condition": "sel"})
    assert evaluate(where, {"process": 'xa"b\\c'})
    assert not evaluate(where, {"process": 'xa"b\\c\n'})


def test_changing_an_indicator_value_changes_the_query() -> None:
    rule = _rule({"sel": {"process.name|expand": "%miner_names%"}, "condition": "sel"})
    pipeline = cim_pipeline()
    before = splunk.condition_of(rule, pipeline)[1]
    changed = cim_pipeline()
    changed.vars = {**changed.vars, "miner_names": ["only-this-miner"]}
    after = splunk.condition_of(rule, changed)[1]
    assert before != after and "only\\\\-this\\\\-miner" in after and "xmrig" not in after


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ({"process.name": "XMRig"}, 'match(process_name, "(?i)^XMRig\\\\z")'),
        ({"process.name|cased": "XMRig"}, 'match(process_name, "^XMRig\\\\z")'),
        ({"process.name|startswith": "xm"}, 'match(process_name, "(?is)^xm.*\\\\z")'),
        ({"process.args": "run"}, 'isnotnull(mvfind(process_args, "(?i)^run\\\\z"))'),
        ({"process.pid": [1, "2"]}, 'in(tostring(process_id), "1", "2")'),
        ({"process.name|exists": True}, "isnotnull(process_name)"),
        ({"process.command_line|re|i": "^x$"}, 'match(process, "(?i)^x\\\\z")'),
    ],
)
def test_leaf_forms(detection: dict[str, Any], expected: str) -> None:
    assert _where({"sel": detection, "condition": "sel"}) == expected


def test_text_on_an_integer_field_fails() -> None:
    with pytest.raises(RuleError, match=re.escape("integer field 'process_id'")):
        _where({"sel": {"process.pid": "08"}, "condition": "sel"})


def test_not_is_true_for_a_missing_field() -> None:
    where = _where({"sel": {"process.name": "a"}, "condition": "not sel"})
    assert where == 'NOT (isnotnull(process_name) AND match(process_name, "(?i)^a\\\\z"))'
    assert [evaluate(where, e) for e in ({"process_name": "a"}, {"process_name": "b"}, {})] == [
        False,
        True,
        True,
    ]


def test_cloudtrail_fields_are_quoted_json_paths() -> None:
    text = converted("cloud_image_launch")
    assert "isnotnull('requestParameters.launchPermission.add.items{}.group')" in text
    assert 'sourcetype="aws:cloudtrail"' in text and "assessment 'cloud_image_launch'" in text


def test_regex_dollar_becomes_end_of_text() -> None:
    assert re2_to_pcre("a$") == "a\\z"
    assert re2_to_pcre("[$]\\$x$") == "[$]\\$x\\z"
    assert re2_to_pcre("a$", multiline=True) == "a$"


def test_spl_string_escapes() -> None:
    assert spl_string('a"b\\c') == '"a\\"b\\\\c"'
    assert spl_literal(spl_string(HOSTILE)) == HOSTILE


def test_mapping_is_documented_for_every_dataset() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "targets.md").read_text()
    for dataset in datasets():
        for ecs, cim in dataset.fields.items():
            assert f"`{ecs}`" in doc and f"`{cim}`" in doc, (ecs, cim)


def test_unknown_format_fails() -> None:
    with pytest.raises(RuleError, match="unknown format"):
        splunk.convert(copy.deepcopy(pack().by_ref("miner_process")), pack(), "xml")
