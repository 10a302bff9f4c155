"""Windows EVTX: real Sysmon logs of the shared corpus (EVTX cannot be written by hand)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import load_pack
from imagehunt.sources import evtx
from imagehunt.sources.base import Head
from imagehunt.sources.files import read_head
from imagehunt.sources.inputs import Input
from imagehunt.sources.sniff import read_rows, sniff
from support.corpus import corpus_dir

RUNDLL32 = "sysmon_1_11_rundll32_openurl.evtx"
DCOM = "sysmon_3_dcom_shellbrowserwindow.evtx"
RECORD_MAGIC = b"\x2a\x2a\x00\x00"


def _corpus(name: str) -> Path:
    return corpus_dir("evtx") / name


def test_process_creation_log_counts_and_fields() -> None:
    rows, problems = read_rows(_corpus(RUNDLL32), "evtx")
    assert problems.count == 0
    assert [r["_line"] for r in rows] == list(range(1, 12))
    codes = [r["event.code"] for r in rows]
    assert (codes.count("1"), codes.count("11")) == (9, 2)
    rundll32 = rows[2]
    assert rundll32["process.command_line"] == (
        '"C:\\Windows\\System32\\rundll32.exe" ieframe.dll,OpenURL '
        "c:\\users\\ieuser\\appdata\\local\\temp\\ieframe.url"
    )
    assert rundll32["process.args"] == [
        "C:\\Windows\\System32\\rundll32.exe",
        "ieframe.dll,OpenURL",
        "c:\\users\\ieuser\\appdata\\local\\temp\\ieframe.url",
    ]
    assert (rundll32["process.name"], rundll32["process.pid"]) == ("rundll32.exe", 2960)
    assert (rundll32["process.parent.name"], rundll32["process.parent.pid"]) == ("python.exe", 1332)
    assert (rundll32["event.id"], rundll32["host.name"], rundll32["user.name"]) == (
        "16388",
        "IEWIN7",
        "IEUser",
    )
    assert rundll32["event.category"] == ["process"] and rundll32["event.type"] == ["start"]
    assert rundll32["_format"] == "evtx"


def test_network_log_ports_and_direction() -> None:
    rows, problems = read_rows(_corpus(DCOM), "evtx")
    assert problems.count == 0
    assert [r["event.code"] for r in rows] == ["3", "3", "3"]
    assert [r["destination.port"] for r in rows] == [58172, 55099, 55101]
    assert {(r["destination.ip"], r["source.ip"], r["source.port"]) for r in rows} == {
        ("10.0.2.17", "10.0.2.16", 49158)
    }
    assert {(r["network.direction"], r["network.transport"]) for r in rows} == {("ingress", "tcp")}
    assert rows[0]["@timestamp"].isoformat() == "2019-05-14T00:29:48.655000+00:00"


def test_gzip_evtx_reads_the_same_rows(tmp_path: Path) -> None:
    packed = tmp_path / "log.evtx.gz"
    packed.write_bytes(gzip.compress(_corpus(DCOM).read_bytes()))
    assert sniff(packed) == ("evtx", "")
    plain, _ = read_rows(_corpus(DCOM), "evtx")
    rows, _ = read_rows(packed, "evtx")
    drop = ("_file",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in rows] == [
        {k: v for k, v in r.items() if k not in drop} for r in plain
    ]


def test_corrupt_record_is_counted_by_number_and_the_rest_read(tmp_path: Path) -> None:
    data = bytearray(_corpus(RUNDLL32).read_bytes())
    third = -1
    for _ in range(3):
        third = data.find(RECORD_MAGIC, third + 1)
    data[third + 24 : third + 60] = b"\xff" * 36  # the record's binary XML
    path = tmp_path / "corrupt.evtx"
    path.write_bytes(bytes(data))
    rows, problems = read_rows(path, "evtx")
    assert [r["_line"] for r in rows] == [1, 2, *range(4, 12)]
    assert [line for line, _ in problems.first] == [3]
    assert "corrupt EVTX record" in problems.first[0][1]


def test_unreadable_evtx_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "cut.evtx"
    path.write_bytes(b"ElfFile\x00" + b"\x00" * 100)
    outcome = run_scan(load_pack(select=["miner_process"]), [Input(path, "cut", "evtx")])
    report = outcome.inputs[0]
    assert outcome.alerts == []
    assert report.events == 0
    assert report.skipped_reason or report.problems.count


def test_benign_corpus_fires_no_miner_rule() -> None:
    pack = load_pack(select=["miner_process", "pool_connection", "pool_dns", "miner_cmdline"])
    inputs = [Input(_corpus(n), n, "evtx") for n in (RUNDLL32, DCOM)]
    outcome = run_scan(pack, inputs)
    assert outcome.alerts == []
    assert [r.events for r in outcome.inputs] == [11, 3]


@pytest.mark.parametrize("name", [RUNDLL32, DCOM])
def test_sniff_claims_evtx(name: str) -> None:
    path = _corpus(name)
    assert evtx.sniff(Head(name=name, data=read_head(path)))
    assert sniff(path) == ("evtx", "")


def test_sniff_rejects_text_and_json() -> None:
    samples = Path(__file__).parent / "samples"
    for path in (samples / "sysmon" / "syslog.log", samples / "winlogbeat" / "sysmon.ndjson"):
        assert not evtx.sniff(Head(name=path.name, data=read_head(path)))
    assert not evtx.sniff(Head(name="x", data=b"ElfChnk\x00"))


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("cut", [1000, 30000, 64900])
def test_file_cut_inside_a_chunk_is_reported(tmp_path: Path, cut: int, compress: bool) -> None:
    """The evtx parser stops silently at a cut chunk; the loss is reported, not hidden."""
    data = _corpus(RUNDLL32).read_bytes()
    whole, _ = read_rows(_corpus(RUNDLL32), "evtx")
    path = tmp_path / "cut.evtx"
    content = data[: evtx.HEADER_BYTES + cut]
    path.write_bytes(gzip.compress(content) if compress else content)
    rows, problems = read_rows(path, "evtx")
    assert len(rows) < len(whole)
    assert problems.count == 1
    line, reason = problems.first[0]
    assert line == (rows[-1]["_line"] + 1 if rows else 1)
    assert f"file ends {cut} bytes into chunk 1" in reason


def test_complete_file_reports_no_cut() -> None:
    rows, problems = read_rows(_corpus(RUNDLL32), "evtx")
    assert rows and problems.count == 0
    assert evtx.truncation(evtx.HEADER_BYTES + 2 * evtx.CHUNK_BYTES) is None
    assert evtx.truncation(evtx.HEADER_BYTES + evtx.CHUNK_BYTES + 5) is not None
