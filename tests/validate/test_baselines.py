"""The seed baselines as the coverage matrix reads them: AQL visibility and labels, EQL parse
failure and intended branches (shared/reference/seed_defects.md names the defects)."""

from __future__ import annotations

from typing import Any

import eql
import pytest

from imagehunt.sources.sniff import BY_FORMAT
from imagehunt.validate.baselines import (
    aql_result,
    eql_intended_branches,
    eql_parse_error,
    flatten_event,
)
from imagehunt.validate.seed_data import elastic_seed, qradar_seed

XMRIG_STRATUM = {
    "process.name": "xmrig",
    "process.args": ["/tmp/xmrig", "-o", "stratum+tcp://pool.example.com:3333"],
    "process.command_line": "/tmp/xmrig -o stratum+tcp://pool.example.com:3333",
}


def row(fmt: str | None, **fields: Any) -> dict[str, Any]:
    """A reader row: flat schema field names plus provenance."""
    base: dict[str, Any] = {"_file": "x.log", "_line": 1}
    if fmt is not None:
        base["_format"] = fmt
    base.update({key.replace("__", "."): value for key, value in fields.items()})
    return base


# ---- QRadar AQL: LOGSOURCETYPEID --------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "type_id"),
    [("winlogbeat", 12), ("evtx", 12), ("cloudtrail", 347), ("auditd", 433), ("sysmon", 433)],
)
def test_listed_formats_are_visible_under_their_type(fmt: str, type_id: int) -> None:
    result = aql_result(row(fmt, **{"process.name": "xmrig"}))
    assert (result.visible, result.logsourcetypeid, result.matched) == (True, type_id, True)
    assert result.label == "MinerProcessExecution"


@pytest.mark.parametrize("fmt", ["ecs", "docker", "k8s", "zeek", "falco"])
def test_other_formats_are_invisible(fmt: str) -> None:
    result = aql_result(row(fmt, **{"process.name": "xmrig"}))
    assert (result.visible, result.logsourcetypeid, result.matched, result.label) == (
        False,
        None,
        False,
        None,
    )
    assert fmt in result.reason


def test_every_reader_format_has_a_decision() -> None:
    seed = qradar_seed()
    decided = set(seed.types_by_format) | set(seed.unlisted_formats) | {"qradar"}
    assert decided == set(BY_FORMAT)
    assert not set(seed.types_by_format) & set(seed.unlisted_formats)


@pytest.mark.parametrize(
    ("type_name", "type_id"),
    [
        ("Microsoft Windows Security Event Log", 12),
        ("amazon aws cloudtrail", 347),
        ("Linux OS", 433),
    ],
)
def test_qradar_export_row_is_visible_by_its_log_source_type(type_name: str, type_id: int) -> None:
    result = aql_result(row("qradar", observer__product=type_name, **{"process.name": "xmrig"}))
    assert (result.visible, result.logsourcetypeid, result.matched) == (True, type_id, True)


@pytest.mark.parametrize("type_name", [None, "", "Cisco ASA", "Linux OS Logs"])
def test_qradar_export_row_of_other_or_unknown_type_is_invisible(type_name: str | None) -> None:
    fields: dict[str, Any] = {"process.name": "xmrig"}
    if type_name is not None:
        fields["observer.product"] = type_name
    result = aql_result(row("qradar", **fields))
    assert not result.visible and not result.matched


def test_row_without_format_is_invisible() -> None:
    result = aql_result(row(None, **{"process.name": "xmrig"}))
    assert not result.visible
    assert "no log format" in result.reason


def test_visible_row_that_fails_where_is_not_matched() -> None:
    result = aql_result(row("auditd", **{"process.name": "bash", "process.command_line": "ls"}))
    assert result.visible and not result.matched and result.label is None


# ---- QRadar AQL: RunInstances needs type 347 -------------------------------------------------
def test_runinstances_branch_needs_cloudtrail_type() -> None:
    cloudtrail = aql_result(row("cloudtrail", event__action="RunInstances"))
    assert (cloudtrail.matched, cloudtrail.label) == (True, "AWSInstanceLaunch")
    assert not aql_result(row("winlogbeat", event__action="RunInstances")).matched
    typed = row("qradar", event__action="RunInstances", observer__product="Amazon AWS CloudTrail")
    assert aql_result(typed).label == "AWSInstanceLaunch"


# ---- QRadar AQL: CASE order (A6) -------------------------------------------------------------
def test_case_labels_follow_the_seed_order() -> None:
    labels = [when.label for when in qradar_seed().case]
    assert labels == [
        "MinerProcessExecution",
        "MiningPoolNetworkConnection",
        "MinerCommandLineArgs",
        "AWSInstanceLaunch",
    ]
    assert qradar_seed().else_label == "Unknown"


POOL = {"destination.port": 3333, "destination.ip": "45.9.148.21"}
CASE_ROWS: dict[str, tuple[dict[str, Any], str]] = {
    # process name, pool port and command all hold: the first WHEN wins (A6)
    "name+port+command": ({**XMRIG_STRATUM, **POOL}, "MinerProcessExecution"),
    # port and command hold: the port WHEN comes before the command WHEN
    "port+command": (
        {"process.name": "node", "process.command_line": "node x --donate-level 1", **POOL},
        "MiningPoolNetworkConnection",
    ),
    "command": (
        {"process.name": "kworker", "process.command_line": "kworker -o stratum+tcp://p:1"},
        "MinerCommandLineArgs",
    ),
    # in WHERE, in no WHEN (A6): cryptonight is missing from the CASE list
    "where-only": ({"process.name": "cryptonight"}, "Unknown"),
}


@pytest.mark.parametrize("key", list(CASE_ROWS))
def test_case_keeps_the_first_matching_label(key: str) -> None:
    fields, label = CASE_ROWS[key]
    result = aql_result(row("auditd", **fields))
    assert result.matched
    assert result.label == label


# ---- Elastic EQL: the text as written --------------------------------------------------------
def test_seed_eql_text_is_kept_as_written() -> None:
    query = elastic_seed().query
    assert query.startswith("sequence by host.name with maxspan=5m\n[\n")
    assert query.splitlines().count("nor") == 2
    assert query.endswith('    "moneroocean.stream", "xmr.pool"\n  )')
    assert "shared/seeds/elastic_t1204_003.txt" in elastic_seed().source


def test_seed_eql_fails_to_parse_at_the_nor_line() -> None:
    message = eql_parse_error()
    assert message.startswith("Error at line:10,column:1\nInvalid syntax")
    assert elastic_seed().query.splitlines()[9] == "nor"
    assert message.splitlines()[-2:] == ["nor", "^^^"]


def test_seed_eql_fails_in_eql_own_syntax_too() -> None:
    with pytest.raises(eql.EqlSyntaxError):
        eql.parse_query(elastic_seed().query)


# ---- Elastic EQL: intended branches ----------------------------------------------------------
def process_start(name: str, args: list[str]) -> dict[str, Any]:
    return flatten_event(
        {
            "@timestamp": "2026-11-21T08:00:00Z",
            "event": {"category": ["process"], "type": ["start"]},
            "process": {"name": name, "args": args},
        }
    )


def connection(ip: str, port: int, event_type: list[str], **extra: Any) -> dict[str, Any]:
    doc = {
        "event.category": ["network"],
        "event.type": event_type,
        "destination.ip": ip,
        "destination.port": port,
        "process.name": "node",
    }
    doc.update({key.replace("__", "."): value for key, value in extra.items()})
    return flatten_event(doc)


def test_process_branch_by_name_and_by_args() -> None:
    assert eql_intended_branches(process_start("xmrig", ["./xmrig"])) == ["process"]
    args = ["./kworker", "-o", "stratum+tcp://pool.example.com:3333"]
    assert eql_intended_branches(process_start("kworker", args)) == ["process"]


def test_e3_in_is_case_sensitive() -> None:
    assert eql_intended_branches(process_start("XMRig", ["/opt/XMRig/XMRig"])) == []


def test_e9_dns_branch_requires_connection_type() -> None:
    lookup = connection("8.8.8.8", 53, ["protocol"], dns__question__name="minexmr.com")
    assert eql_intended_branches(lookup) == []
    as_connection = connection("8.8.8.8", 53, ["connection"], dns__question__name="minexmr.com")
    assert eql_intended_branches(as_connection) == ["dns"]


@pytest.mark.parametrize("ip", ["10.20.30.40", "172.20.1.5", "192.168.1.9", "127.0.0.1"])
def test_e11_private_addresses_are_not_excluded(ip: str) -> None:
    assert eql_intended_branches(connection(ip, 3333, ["connection"])) == ["network"]


def test_e11_only_the_literal_cidr_text_is_excluded() -> None:
    assert eql_intended_branches(connection("10.0.0.0/8", 3333, ["connection"])) == []


def test_reader_rows_work_like_flattened_documents() -> None:
    reader_row = row(
        "sysmon",
        event__category=["network"],
        event__type=["connection", "start"],
        destination__ip="45.9.148.21",
        destination__port=3333,
        process__name="curl",
    )
    assert eql_intended_branches(reader_row) == ["network"]
    assert aql_result(reader_row).label == "MiningPoolNetworkConnection"


def test_port_text_becomes_a_number_only_for_ascii_digits() -> None:
    """A port given as text compares as a number; "²" passes str.isdigit but int() raised."""
    assert flatten_event({"destination": {"port": " 3333 "}})["destination.port"] == 3333
    assert flatten_event({"destination": {"port": "\u00b2"}})["destination.port"] == "\u00b2"
