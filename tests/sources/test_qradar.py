"""QRadar CSV exports: both header styles, multi-line quoted fields, rules end to end."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources import qradar
from imagehunt.sources.base import Head
from imagehunt.sources.sniff import read_rows, sniff
from support.events import MINER, write_lines
from support.source_rows import scan_hits

SAMPLES = Path(__file__).parent / "samples" / "qradar"
UI_EXPORT = SAMPLES / "log_activity_export.csv"
SEED_EXPORT = SAMPLES / "aql_seed_query.csv"
API_EXPORT = SAMPLES / "ariel_api.csv"


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


def test_ui_export_maps_display_names() -> None:
    rows, problems = read_rows(UI_EXPORT, "qradar")
    assert [r["_line"] for r in rows] == [2, 3, 4, 5, 8]
    assert problems.first == [(7, "2 columns where the header has 13")]
    miner, pool, private, multi_line, curl = rows
    assert miner["@timestamp"] == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert (miner["process.name"], miner["process.executable"]) == ("xmrig", "/tmp/.x/xmrig")
    assert miner["process.args"][1:3] == ["-o", "pool.supportxmr.com:443"]
    assert miner["event.category"] == ["process"]  # 0.0.0.0:0 is QRadar's "no destination"
    assert miner["event.type"] == ["start"]
    assert (miner["event.action"], miner["observer.name"]) == (
        "Process Create",
        "linux-web01 @ 10.20.0.15",
    )
    assert miner["event.module"] == "qradar"
    assert miner["user.name"] == "root"
    assert pool["event.category"] == ["network"]
    assert pool["event.type"] == ["connection", "start"]
    assert (pool["destination.ip"], pool["destination.port"]) == ("45.9.148.1", 3333)
    assert (pool["source.ip"], pool["source.port"]) == ("10.20.0.15", 51234)
    assert pool["user.name"] is None  # N/A
    assert pool["process.name"] is None
    assert private["destination.ip"] == "10.1.2.3"
    assert multi_line["process.command_line"] == 'bash -c "echo hello, world\necho second line"'
    assert multi_line["process.args"] == ["bash", "-c", "echo hello, world\necho second line"]
    assert curl["process.name"] == "curl"
    assert curl["process.executable"] is None


def test_seed_query_aliases_with_bom() -> None:
    rows, problems = read_rows(SEED_EXPORT, "qradar")
    assert problems.count == 0
    miner, pool = rows
    assert miner["@timestamp"] == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert miner["process.name"] == "xmrig"
    assert miner["host.ip"] == ["10.20.0.15"]
    assert miner["source.ip"] == "10.20.0.15"
    assert miner["event.category"] == ["process"]
    assert pool["event.category"] == ["network"]
    assert pool["destination.port"] == 3333


def test_ariel_api_columns_epoch_ms_and_windows_paths() -> None:
    rows, problems = read_rows(API_EXPORT, "qradar")
    assert problems.count == 0
    miner, notepad = rows
    assert miner["@timestamp"] == datetime(2026, 11, 20, 9, 59, 59, tzinfo=UTC)  # devicetime
    assert miner["process.name"] == "xmrig.exe"
    assert miner["process.executable"] == "C:\\ProgramData\\svchost\\xmrig.exe"
    assert miner["process.args"][0] == "C:\\ProgramData\\svchost\\xmrig.exe"
    assert miner["observer.product"] == "Microsoft Windows Security Event Log"
    assert miner["observer.name"] == "win-app02"
    assert notepad["event.category"] == ["process", "network"]
    assert notepad["event.type"] == ["start", "connection"]


def test_process_and_pool_rows_fire(pack: RulePack) -> None:
    assert scan_hits(pack, UI_EXPORT, "qradar") == [
        ("miner_cmdline", "log_activity_export.csv", 2),
        ("miner_process", "log_activity_export.csv", 2),
        ("pool_connection", "log_activity_export.csv", 3),
    ]
    assert ("miner_process", "aql_seed_query.csv", 2) in scan_hits(pack, SEED_EXPORT, "qradar")
    assert ("pool_connection", "aql_seed_query.csv", 3) in scan_hits(pack, SEED_EXPORT, "qradar")
    assert ("miner_process", "ariel_api.csv", 2) in scan_hits(pack, API_EXPORT, "qradar")


def test_column_names_match_loosely_and_unknown_columns_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "SOURCE_IP, destination ip ,Destination_Port,Custom Thing,process path,ParentImage\r\n"
        "10.0.0.1,45.9.148.1,3333,x,/usr/bin/curl,/usr/bin/containerd-shim\r\n",
        encoding="utf-8",
    )
    rows, problems = read_rows(path, "qradar")
    assert problems.count == 0
    row = rows[0]
    assert (row["source.ip"], row["destination.ip"], row["destination.port"]) == (
        "10.0.0.1",
        "45.9.148.1",
        3333,
    )
    assert (row["process.name"], row["process.executable"]) == ("curl", "/usr/bin/curl")
    assert row["process.parent.name"] == "containerd-shim"
    assert sniff(path) == ("qradar", "")


def test_malformed_rows_keep_neighbours_and_exact_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "Event Name,Process Name,Command\n"  # 1
        "\n"  # 2 blank
        'A,xmrig,"xmrig\n'  # 3: row of lines 3-4
        '--donate-level 1"\n'  # 4
        "B,too,many,cells\n"  # 5
        'C,bash,"unclosed ""quote" x\n'  # 6: quote inside an unquoted tail: kept by csv
        "D,bash,ls\n",  # 7
        encoding="utf-8",
    )
    rows, problems = read_rows(path, "qradar")
    assert [r["_line"] for r in rows] == [3, 6, 7]
    assert problems.first == [(5, "4 columns where the header has 3")]
    assert rows[0]["process.args"] == ["xmrig", "--donate-level", "1"]


def test_unterminated_quote_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qradar, "MAX_LINE_BYTES", 64)
    path = tmp_path / "cut.csv"
    path.write_text(
        'Event Name,Process Name\nA,xmrig\nB,"' + "x\n" * 50 + "C,xmrig\n", encoding="utf-8"
    )
    rows, problems = read_rows(path, "qradar")
    assert rows[0]["_line"] == 2
    assert problems.count >= 1
    assert problems.first[0][0] == 3
    assert "field larger than field limit" in problems.first[0][1]


def test_over_long_physical_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qradar, "MAX_LINE_BYTES", 64)
    path = tmp_path / "long.csv"
    path.write_text("Event Name,Process Name\nA," + "x" * 200 + "\nB,xmrig\n", encoding="utf-8")
    rows, problems = read_rows(path, "qradar")
    assert [r["_line"] for r in rows] == [3]
    assert problems.first[0][0] == 2


def test_gzip_input(tmp_path: Path, pack: RulePack) -> None:
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(UI_EXPORT.read_bytes()))
    assert sniff(path) == ("qradar", "")
    assert [line for _, _, line in scan_hits(pack, path, "qradar")] == [2, 2, 3]


@pytest.mark.parametrize("path", [UI_EXPORT, SEED_EXPORT, API_EXPORT])
def test_samples_are_sniffed_as_qradar(path: Path) -> None:
    assert sniff(path) == ("qradar", "")


def test_sniffer_rejects_other_formats(tmp_path: Path) -> None:
    ecs = write_lines(tmp_path / "ecs.ndjson", [MINER])
    assert not qradar.sniff(Head(name="e", data=ecs.read_bytes()))
    for data in (
        b"name,value\nsourceip,1\n",  # one known name is not enough
        b"time,host,message\n1,a,b\n",
        b'{"sourceip": 1, "destinationip": 2}\n',
    ):
        assert not qradar.sniff(Head(name="x", data=data))
    for folder in ("zeek", "falco"):
        for sample in (SAMPLES.parent / folder).iterdir():
            assert not qradar.sniff(Head(name=sample.name, data=sample.read_bytes()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nov 20, 2026, 10:00:00 PM", datetime(2026, 11, 20, 22, 0, tzinfo=UTC)),
        ("Nov 20, 2026, 10:00:00\u202fAM", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),
        ("2026-11-20 10:00:00", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),
        ("1795168800000", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),
        ("yesterday", None),
    ],
)
def test_time_layouts(text: str, expected: datetime | None) -> None:
    assert qradar.parse_time(text) == expected


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ('a "b c" d', ["a", "b c", "d"]),
        ("a 'b", ["a", "b"]),
        ('C:\\x\\y.exe --o="" -p', ["C:\\x\\y.exe", "--o=", "-p"]),
        ("  ", []),
    ],
)
def test_split_command(command: str, args: list[str]) -> None:
    assert qradar.split_command(command) == args


def test_mutated_input_never_raises(tmp_path: Path) -> None:
    rng = random.Random(3)
    for sample in (UI_EXPORT, SEED_EXPORT, API_EXPORT):
        base = sample.read_bytes()
        for _ in range(40):
            data = bytearray(base)
            for _ in range(rng.randint(1, 12)):
                pos = rng.randrange(len(data))
                data[pos : pos + 1] = rng.choice([b"", b"\x00", b'"', b"\n", b",", b"\r", b"\xff"])
            path = tmp_path / "m.csv"
            path.write_bytes(bytes(data))
            rows, _problems = read_rows(path, "qradar")
            assert all(1 <= r["_line"] <= data.count(b"\n") + 1 for r in rows)


def test_a_quote_that_never_closes_costs_one_row(tmp_path: Path) -> None:
    path = tmp_path / "open_quote.csv"
    path.write_text(
        "Event Name,Process Name,Command\n"  # 1
        'A,bash,"echo start\n'  # 2: this quote never closes
        "B,xmrig,xmrig -o pool.example.com:3333\n"  # 3
        "C,bash,ls -la\n",  # 4
        encoding="utf-8",
    )
    rows, problems = read_rows(path, "qradar")
    assert [(r["_line"], r["process.name"]) for r in rows] == [(3, "xmrig"), (4, "bash")]
    assert [line for line, _ in problems.first] == [2]
