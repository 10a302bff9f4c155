"""winlogbeat writer (Windows Sysmon 1, 3, 22): document shape, read-back, determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imagehunt.emulate.formats import winlogbeat
from support.emulate_common import read_back
from support.emulate_steps_hostlogs import (
    POOL_IP,
    WIN_CURL,
    WIN_EDGE,
    linux_scenario,
    windows_scenario,
)


def documents(seed: int = 7) -> list[dict[str, Any]]:
    return [json.loads(line) for line in winlogbeat.write(windows_scenario(seed)).splitlines()]


def test_documents_have_winlogbeat_shape() -> None:
    docs = documents()
    assert [d["winlog"]["event_id"] for d in docs] == ["1", "22", "3", "1", "22", "3"]
    for doc in docs:
        winlog = doc["winlog"]
        assert winlog["channel"] == "Microsoft-Windows-Sysmon/Operational"
        assert winlog["provider_name"] == "Microsoft-Windows-Sysmon"
        assert winlog["computer_name"] == "WS-FIN-014.corp.local"
        assert doc["event"]["code"] == winlog["event_id"]
        assert doc["agent"]["type"] == "winlogbeat"
        assert doc["host"]["name"] == "WS-FIN-014"
        assert all(isinstance(v, str) for v in winlog["event_data"].values())
        assert "process" not in doc  # no ingest pipeline has run
        assert doc["message"].splitlines()[1] == "RuleName: -"
    create = docs[3]["winlog"]["event_data"]
    assert create["User"] == "CORP\\jsmith"
    assert create["OriginalFileName"] == "PowerShell.EXE"
    assert create["Hashes"].startswith("SHA256=")
    dns = docs[4]["winlog"]["event_data"]
    assert list(dns) == [
        "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "QueryName", "QueryStatus",
        "QueryResults", "Image", "User",
    ]  # fmt: skip
    assert dns["QueryResults"] == f"::ffff:{POOL_IP};"
    assert dns["ProcessGuid"] == create["ProcessGuid"]


def test_read_back_gives_exact_fields(tmp_path: Path) -> None:
    text = winlogbeat.write(windows_scenario())
    rows, problems = read_back(tmp_path / "winlogbeat.ndjson", text, "winlogbeat")
    assert problems.count == 0
    assert len(rows) == 6
    ps = rows[3]
    assert (ps["event.code"], ps["event.category"], ps["event.type"]) == (
        "1", ["process"], ["start"],
    )  # fmt: skip
    assert ps["process.name"] == "powershell.exe"
    assert ps["process.command_line"] == WIN_CURL.command_line
    assert ps["process.args"] == list(WIN_CURL.args)
    assert ps["process.parent.name"] == "explorer.exe"
    assert (ps["user.name"], ps["host.name"], ps["host.os.type"]) == (
        "jsmith", "WS-FIN-014", "windows",
    )  # fmt: skip
    query = rows[4]
    assert query["dns.question.name"] == "pool.minexmr.com"
    assert query["dns.resolved_ip"] == [f"::ffff:{POOL_IP}"]
    assert query["event.outcome"] == "success"
    connect = rows[5]
    assert (connect["destination.ip"], connect["destination.port"]) == (POOL_IP, 3333)
    assert (connect["source.ip"], connect["source.port"]) == ("10.30.1.14", 50388)
    assert connect["process.entity_id"] == ps["process.entity_id"]
    edge = rows[0]
    assert edge["process.args"] == list(WIN_EDGE.args)
    assert edge["process.parent.entity_id"] == ps["process.parent.entity_id"]


def test_linux_hosts_are_not_written() -> None:
    assert winlogbeat.write(linux_scenario()) == ""


def test_deterministic_per_seed() -> None:
    assert documents(7) == documents(7)
    first, other = documents(7), documents(8)
    assert [d["winlog"]["record_id"] for d in first] != [d["winlog"]["record_id"] for d in other]
    first_guids = [d["winlog"]["event_data"]["ProcessGuid"] for d in first]
    assert first_guids != [d["winlog"]["event_data"]["ProcessGuid"] for d in other]
