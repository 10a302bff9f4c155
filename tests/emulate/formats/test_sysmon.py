"""Sysmon for Linux syslog writer: well-formed XML with the documented elements, read-back."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from imagehunt.emulate.formats import sysmon
from imagehunt.emulate.steps import ProcessStart
from support.emulate_common import Scenario, at, read_back
from support.emulate_steps_hostlogs import (
    CURL,
    POOL_IP,
    QUOTED,
    SHIM,
    WEB,
    XMRIG,
    linux_scenario,
    windows_scenario,
)

SYSTEM_ELEMENTS = [
    "Provider", "EventID", "Version", "Level", "Task", "Opcode", "Keywords", "TimeCreated",
    "EventRecordID", "Correlation", "Execution", "Channel", "Computer", "Security",
]  # fmt: skip
DATA_NAMES = {
    "1": [
        "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion",
        "Description", "Product", "Company", "OriginalFileName", "CommandLine",
        "CurrentDirectory", "User", "LogonGuid", "LogonId", "TerminalSessionId",
        "IntegrityLevel", "Hashes", "ParentProcessGuid", "ParentProcessId", "ParentImage",
        "ParentCommandLine", "ParentUser",
    ],
    "3": [
        "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "User", "Protocol",
        "Initiated", "SourceIsIpv6", "SourceIp", "SourceHostname", "SourcePort",
        "SourcePortName", "DestinationIsIpv6", "DestinationIp", "DestinationHostname",
        "DestinationPort", "DestinationPortName",
    ],
}  # fmt: skip
_HEADER = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} web-01 sysmon: <Event>")


def events(text: str) -> list[ET.Element]:
    """Each line's XML event, parsed by a real XML parser."""
    found = []
    for line in text.splitlines():
        assert _HEADER.match(line), line[:60]
        found.append(ET.fromstring(line[line.index("<Event>") :]))
    return found


def data(event: ET.Element) -> dict[str, str]:
    return {item.get("Name", ""): item.text or "" for item in event.iter("Data")}


def test_every_event_is_well_formed_with_the_documented_elements() -> None:
    parsed = events(sysmon.write(linux_scenario()))
    assert len(parsed) == 8  # 6 process creates, 2 connections; the DNS lookup has no event
    for event in parsed:
        system = event.find("System")
        assert system is not None
        assert [child.tag for child in system] == SYSTEM_ELEMENTS
        provider = system.find("Provider")
        assert provider is not None
        assert provider.get("Name") == "Linux-Sysmon"
        assert system.findtext("Channel") == "Linux-Sysmon/Operational"
        assert system.findtext("Computer") == "web-01"
        event_id = system.findtext("EventID") or ""
        assert system.findtext("Task") == event_id
        names = [item.get("Name") for item in event.iter("Data")]
        assert names == DATA_NAMES[event_id]
    assert [e.findtext("System/EventID") for e in parsed].count("3") == 2


def test_values_are_xml_escaped_and_parse_back_exactly() -> None:
    odd = ProcessStart(
        time=at(1),
        host=WEB,
        attack=False,
        process=replace(QUOTED, args=("sh", "-c", "a < b && c > 'd'")),
    )
    text = sysmon.write(Scenario(seed=3, steps=(odd,)))
    assert "&lt;" in text and "&amp;&amp;" in text and "&apos;" in text
    (event,) = events(text)
    assert data(event)["CommandLine"] == "sh -c \"a < b && c > 'd'\""


def test_read_back_gives_exact_fields(tmp_path: Path) -> None:
    rows, problems = read_back(tmp_path / "syslog", sysmon.write(linux_scenario()), "sysmon")
    assert problems.count == 0
    assert len(rows) == 8
    curl = rows[0]
    assert curl["@timestamp"].isoformat() == "2026-11-20T09:14:07.412000+00:00"
    assert (curl["event.code"], curl["event.category"]) == ("1", ["process"])
    assert curl["process.command_line"] == CURL.command_line
    assert curl["process.args"] == list(CURL.args)
    assert (curl["process.pid"], curl["process.parent.pid"]) == (CURL.pid, CURL.ppid)
    assert (curl["user.name"], curl["host.name"], curl["host.os.type"]) == (
        "deploy", "web-01", "linux",
    )  # fmt: skip
    miner = next(r for r in rows if r["process.name"] == "xmrig" and r["event.code"] == "1")
    assert miner["process.parent.executable"] == SHIM
    assert miner["process.parent.name"] == "containerd-shim-runc-v2"
    assert miner["process.args"] == list(XMRIG.args)
    pool = next(r for r in rows if r.get("destination.ip") == POOL_IP)
    assert (pool["destination.port"], pool["source.ip"], pool["source.port"]) == (
        3333, "172.17.0.2", 40112,
    )  # fmt: skip
    assert (pool["network.transport"], pool["network.direction"]) == ("tcp", "egress")
    assert pool["process.entity_id"] == miner["process.entity_id"]
    apt = next(r for r in rows if r["process.name"] == "apt-get")
    shell = next(r for r in rows if r["process.pid"] == apt["process.parent.pid"])
    assert apt["process.parent.entity_id"] == shell["process.entity_id"]


def test_windows_hosts_are_not_written() -> None:
    assert sysmon.write(windows_scenario()) == ""


def test_deterministic_per_seed() -> None:
    first = sysmon.write(linux_scenario(seed=7))
    assert first == sysmon.write(linux_scenario(seed=7))
    other = events(sysmon.write(linux_scenario(seed=8)))
    mine = events(first)
    assert [data(e)["ProcessGuid"] for e in mine] != [data(e)["ProcessGuid"] for e in other]
    assert mine[0].findtext("System/EventRecordID") != other[0].findtext("System/EventRecordID")
