"""winlogbeat JSON: Sysmon records with and without the sysmon module's ECS fields."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources import winlogbeat
from imagehunt.sources.base import Head
from imagehunt.sources.files import read_head
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.sniff import read_rows, sniff
from support.events import BENIGN, MINER, write_lines
from support.source_rows import scan_hits

SAMPLES = Path(__file__).parent / "samples"
SYSMON_NDJSON = SAMPLES / "winlogbeat" / "sysmon.ndjson"
LINUX_SAMPLES = [
    SAMPLES / "sysmon" / "syslog.log",
    SAMPLES / "sysmon" / "elastic_sysmon_linux.ndjson",
]


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack(select=["miner_process", "pool_connection", "pool_dns"])


def _docs() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SYSMON_NDJSON.read_text().splitlines()]


# ---- end to end -------------------------------------------------------------------------------
def test_sample_fires_miner_dns_and_pool_rules_on_exact_lines(pack: RulePack) -> None:
    # line 2 (notepad) is benign; line 5 is xmrig.exe terminating: an end event
    assert scan_hits(pack, SYSMON_NDJSON, "winlogbeat", "wlb.ndjson") == [
        ("miner_process", "wlb.ndjson", 1),
        ("pool_connection", "wlb.ndjson", 4),
        ("pool_dns", "wlb.ndjson", 3),
    ]


def test_gzip_input(pack: RulePack, tmp_path: Path) -> None:
    packed = tmp_path / "wlb.json.gz"
    with SYSMON_NDJSON.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert sniff(packed) == ("winlogbeat", "")
    assert [line for _, _, line in scan_hits(pack, packed, "winlogbeat", "g")] == [1, 4, 3]


def test_reserved_destination_does_not_fire(pack: RulePack, tmp_path: Path) -> None:
    doc = _docs()[3]
    doc["winlog"]["event_data"]["DestinationIp"] = "10.0.0.5"
    path = write_lines(tmp_path / "lan.ndjson", [doc])
    assert scan_hits(pack, path, "winlogbeat", "lan") == []


# ---- mapping ----------------------------------------------------------------------------------
def test_raw_winlog_record_is_mapped_from_event_data() -> None:
    rows, problems = read_rows(SYSMON_NDJSON, "winlogbeat")
    assert problems.count == 0
    miner = rows[0]
    expected = {
        "event.code": "1",
        "event.id": "50001",
        "event.module": "sysmon",
        "event.category": ["process"],
        "event.type": ["start"],
        "host.os.type": "windows",
        "host.name": "ws-042.corp.example",  # the document's own ECS host.name wins
        "user.name": "jdoe",
        "process.name": "xmrig.exe",
        "process.executable": "C:\\Users\\Public\\Libraries\\xmrig.exe",
        "process.pid": 6612,
        "process.entity_id": "7a1d3c2b-5f60-6740-3a04-000000001c00",
        "process.parent.name": "powershell.exe",
        "process.parent.pid": 5120,
        "process.args": [
            "C:\\Users\\Public\\Libraries\\xmrig.exe",
            "-o",
            "pool.supportxmr.com:3333",
            "-u",
            "44AFFq5kSiGBoZ",
            "-p",
            "worker 1",
        ],
    }
    assert {key: miner[key] for key in expected} == expected
    assert miner["@timestamp"].isoformat() == "2026-11-22T10:05:00.120000+00:00"


def test_module_ecs_fields_win_and_event_data_fills_gaps() -> None:
    rows, _ = read_rows(SYSMON_NDJSON, "winlogbeat")
    notepad = rows[1]
    assert notepad["event.type"] == ["start", "process_start"]  # from ECS
    assert notepad["event.action"] == "Process Create (rule: ProcessCreate)"
    assert notepad["process.entity_id"] == "{7a1d3c2b-5f61-6740-3b04-000000001c00}"
    assert notepad["process.parent.name"] == "explorer.exe"  # from event_data
    assert notepad["process.parent.command_line"] == "C:\\Windows\\Explorer.EXE"


def test_dns_network_and_end_events() -> None:
    rows, _ = read_rows(SYSMON_NDJSON, "winlogbeat")
    dns, conn, end = rows[2], rows[3], rows[4]
    assert dns["dns.question.name"] == "pool.minexmr.com"
    assert dns["dns.resolved_ip"] == ["::ffff:94.130.12.30", "::ffff:94.130.12.31"]
    assert dns["event.outcome"] == "success"
    assert (conn["destination.ip"], conn["destination.port"]) == ("94.130.12.30", 3333)
    assert (conn["network.direction"], conn["source.port"]) == ("egress", 50112)
    assert (end["event.category"], end["event.type"]) == (["process"], ["end"])


def test_other_channels_keep_code_host_and_time_only() -> None:
    rows, _ = read_rows(SYSMON_NDJSON, "winlogbeat")
    logon = rows[5]
    assert (logon["event.code"], logon["event.id"], logon["event.provider"]) == (
        "4624",
        "880211",
        "Microsoft-Windows-Security-Auditing",
    )
    assert logon["event.module"] is None and logon["event.category"] is None
    assert logon["process.executable"] is None
    assert logon["@timestamp"].isoformat() == "2026-11-22T10:05:10+00:00"


def test_dotted_winlog_keys(tmp_path: Path, pack: RulePack) -> None:
    doc = {
        "@timestamp": "2026-11-22T10:00:00Z",
        "winlog.channel": "Microsoft-Windows-Sysmon/Operational",
        "winlog.event_id": 1,
        "winlog.computer_name": "WS-1",
        "winlog.event_data.Image": "C:\\temp\\xmrig.exe",
        "winlog.event_data.ProcessId": "12",
    }
    path = write_lines(tmp_path / "dotted.ndjson", [doc])
    rows, _ = read_rows(path, "winlogbeat")
    assert (rows[0]["process.name"], rows[0]["process.pid"], rows[0]["host.name"]) == (
        "xmrig.exe",
        12,
        "WS-1",
    )
    assert scan_hits(pack, path, "winlogbeat", "d") == [("miner_process", "d", 1)]


def test_pretty_printed_documents_and_wrappers(tmp_path: Path) -> None:
    docs = _docs()
    # two documents as ``jq .`` prints them, then Elastic's test wrapper with two events
    text = json.dumps(docs[0], indent=2) + "\n" + json.dumps(docs[2], indent=2) + "\n"
    first_wrapper_line = text.count("\n") + 1
    text += json.dumps({"events": [docs[3], docs[4]]}, indent=2) + "\n"
    path = tmp_path / "pretty.json"
    path.write_text(text)
    lines = text.splitlines()
    second_doc = lines.index("{", 1) + 1
    events = [n for n, t in enumerate(lines, 1) if t == "    {" and n > first_wrapper_line]
    rows, problems = read_rows(path, "winlogbeat")
    assert problems.count == 0
    assert [(r["_line"], r["event.code"]) for r in rows] == [
        (1, "1"),
        (second_doc, "22"),
        (events[0], "3"),
        (events[1], "5"),
    ]


def test_json_array_on_one_line_gives_one_row_per_element(tmp_path: Path) -> None:
    docs = _docs()
    path = tmp_path / "array.json"
    path.write_text(json.dumps(docs[:2]) + "\n")
    rows, _ = read_rows(path, "winlogbeat")
    assert [(r["_line"], r["process.name"]) for r in rows] == [(1, "xmrig.exe"), (1, "notepad.exe")]


def test_malformed_lines_are_counted_and_neighbours_read(tmp_path: Path) -> None:
    docs = _docs()
    lines: list[str | dict[str, Any]] = [
        docs[0],
        "{truncated",
        "",
        {"no": "winlog"},
        "[1, 2]",
        "plain text",
        docs[1],
        "x" * 20 + json.dumps(docs[0])[:50],
        docs[2],
    ]
    path = write_lines(tmp_path / "m.ndjson", lines)
    rows, problems = read_rows(path, "winlogbeat")
    assert [r["_line"] for r in rows] == [1, 7, 9]
    assert [line for line, _ in problems.first] == [2, 4, 5, 5, 6, 8]
    reasons = dict(problems.first)
    assert "invalid JSON" in reasons[2]
    assert "without a winlog" in reasons[4]


def test_unbalanced_pretty_document_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "winlog": {\n  ]\n}\n' + json.dumps(_docs()[0]) + "\n")
    rows, problems = read_rows(path, "winlogbeat")
    assert [r["_line"] for r in rows] == [5]
    assert problems.first[0] == (1, "invalid JSON document: unbalanced brackets")


# ---- sniffing ---------------------------------------------------------------------------------
def test_sniff_claims_winlogbeat_json() -> None:
    head = Head(name="sysmon.ndjson", data=read_head(SYSMON_NDJSON))
    assert winlogbeat.sniff(head)
    assert sniff(SYSMON_NDJSON) == ("winlogbeat", "")


def test_sniff_claims_pretty_printed_winlogbeat(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"events": _docs()[:2]}, indent=2))
    assert sniff(path) == ("winlogbeat", "")


def test_sniff_rejects_linux_sysmon_and_other_formats(tmp_path: Path) -> None:
    ecs = write_lines(tmp_path / "ecs.ndjson", [MINER, BENIGN])
    linux_doc = json.loads(LINUX_SAMPLES[1].read_text())
    linux_pretty = tmp_path / "linux.json"
    linux_pretty.write_text(json.dumps({"events": [linux_doc]}, indent=2))
    for path in (ecs, linux_pretty, *LINUX_SAMPLES):
        assert not winlogbeat.sniff(Head(name=path.name, data=read_head(path))), path.name
    assert sniff(ecs)[0] == "ecs"


def test_truncated_line_ending_with_a_brace_does_not_swallow_the_next_lines(
    tmp_path: Path,
) -> None:
    docs = _docs()
    cut = json.dumps(docs[0])
    cut = cut[: cut.index('"winlog": {') + len('"winlog": {')]
    path = write_lines(tmp_path / "cut.ndjson", [docs[0], cut, docs[1], docs[2]])
    rows, problems = read_rows(path, "winlogbeat")
    assert [r["_line"] for r in rows] == [1, 3, 4]
    assert problems.first == [(2, "JSON document not closed before the next one")]


def test_randomly_damaged_lines_never_stop_the_read(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    source = SYSMON_NDJSON.read_text().splitlines()
    for round_number in range(30):
        lines = []
        for text in source * 3:
            cut = rng.randrange(len(text) + 1)
            damaged = text[:cut] + rng.choice(['"', "{", "[", "}", "]", "\\", ""]) + text[cut:]
            lines.append(rng.choice([text, text[:cut], damaged]))
        path = tmp_path / f"r{round_number}.ndjson"
        path.write_text("\n".join(lines) + "\n")
        problems = ReadProblems(keep=10_000)
        rows = [r for b in winlogbeat.read(path, "r", problems) for r in b.to_pylist()]
        intact = {n for n, text in enumerate(lines, 1) if text in source}
        assert intact <= {r["_line"] for r in rows}
        assert all(1 <= line <= len(lines) for line, _ in problems.first)
