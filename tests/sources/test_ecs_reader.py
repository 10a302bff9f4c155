"""ECS NDJSON reading: exact line numbers, both key styles, bad input never loses good rows."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from imagehunt.engine import scan as scan_module
from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources.ecs import fetch_rows, read_exact
from imagehunt.sources.inputs import Input
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.sniff import sniff
from support.events import BENIGN, MINER, event, write_lines


@pytest.fixture(scope="module")
def miner_pack() -> RulePack:
    return load_pack(select=["miner_process"])


def _alert_lines(pack: RulePack, path: Path) -> list[int]:
    outcome = run_scan(pack, [Input(path, str(path), "ecs")])
    return [a.evidence[0].line for a in outcome.alerts]


@pytest.fixture(params=["exact", "fast"])
def path_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once on the Python path and once on DuckDB's read_ndjson path."""
    threshold = 1 << 40 if request.param == "exact" else 0
    monkeypatch.setattr(scan_module, "FAST_PATH_MIN_BYTES", threshold)
    return str(request.param)


def test_nested_and_dotted_keys_give_the_same_row(tmp_path: Path) -> None:
    nested = {"process": {"name": "xmrig", "parent": {"name": "runc"}}, "event": {"type": "start"}}
    dotted = {"process.name": "xmrig", "process.parent.name": "runc", "event.type": ["start"]}
    mixed = {"process": {"parent.name": "runc"}, "process.name": "xmrig", "event.type": "start"}
    path = write_lines(tmp_path / "a.ndjson", [nested, dotted, mixed])
    problems = ReadProblems()
    rows = [r for b in read_exact(path, "a", problems) for r in b.to_pylist()]
    assert [r["process.parent.name"] for r in rows] == ["runc"] * 3
    assert [r["event.type"] for r in rows] == [["start"]] * 3
    assert [r["_line"] for r in rows] == [1, 2, 3]


def test_type_mismatch_in_one_field_keeps_the_rest(
    tmp_path: Path, miner_pack: RulePack, path_kind: str
) -> None:
    bad_pid = event(MINER, **{"process.pid": "not-a-number"})
    bad_host = event(MINER, host={"name": {"nested": True}})
    object_as_string = event(MINER, user="root", destination="x")
    path = write_lines(tmp_path / "m.ndjson", [bad_pid, bad_host, object_as_string])
    assert _alert_lines(miner_pack, path) == [1, 2, 3]


def test_line_numbers_are_exact_with_blank_and_invalid_lines(
    tmp_path: Path, miner_pack: RulePack, path_kind: str
) -> None:
    lines: list[str | dict[str, object]] = [BENIGN, "", "not json", "   ", MINER, "[1, 2]", MINER]
    path = write_lines(tmp_path / "m.ndjson", lines)
    outcome = run_scan(miner_pack, [Input(path, str(path), "ecs")])
    assert [a.evidence[0].line for a in outcome.alerts] == [5, 7]
    report = outcome.inputs[0]
    assert [line for line, _ in report.problems.first] == [3, 6]
    assert report.events == 3


def test_fast_path_gives_exact_lines_and_reports_invalid_lines(
    tmp_path: Path, miner_pack: RulePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_module, "FAST_PATH_MIN_BYTES", 0)
    lines: list[str | dict[str, object]] = [BENIGN, "{truncated", MINER, "{}", MINER]
    path = write_lines(tmp_path / "m.ndjson", lines)
    outcome = run_scan(miner_pack, [Input(path, str(path), "ecs")])
    assert outcome.inputs[0].path_taken == "fast"
    assert [a.evidence[0].line for a in outcome.alerts] == [3, 5]
    assert [line for line, _ in outcome.inputs[0].problems.first] == [2]


def test_malicious_event_after_100k_benign_lines_with_other_fields(
    tmp_path: Path, miner_pack: RulePack, path_kind: str
) -> None:
    benign = json.dumps(
        {
            "@timestamp": "2026-11-20T10:00:00Z",
            "url": {"full": "https://x.example/"},
            "http.response.status_code": 200,
            "source.ip": "10.0.0.1",
        }
    )
    path = tmp_path / "big.ndjson"
    with path.open("w", encoding="utf-8") as out:
        for _ in range(100_000):
            out.write(benign + "\n")
        out.write(json.dumps(MINER) + "\n")
    assert _alert_lines(miner_pack, path) == [100_001]


def test_gzip_input_is_read_transparently(tmp_path: Path, miner_pack: RulePack) -> None:
    path = tmp_path / "m.ndjson.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write(json.dumps(BENIGN) + "\n" + json.dumps(MINER) + "\n")
    assert sniff(path) == ("ecs", "")
    assert _alert_lines(miner_pack, path) == [2]


@pytest.mark.parametrize(
    ("content", "rows"),
    [
        (b"", 0),
        (b"  \n\n", 0),
        (b'{"a":1}', 1),
        (b'{"a":1}\n{"b":2}\n', 2),
        (b'{"a":1}\n{"b":2}\n\n\n', 2),
        (b'{"a":1}\r\n{"b":2}\r\n', 2),
        (b'{"a":1}\n\n{"b":2}\n', 2),
        (b'\n{"a":1}\n   \n', 1),
    ],
)
def test_rows_are_the_non_blank_lines(tmp_path: Path, content: bytes, rows: int) -> None:
    path = tmp_path / "f.ndjson"
    path.write_bytes(content)
    assert fetch_rows(path, []).rows == rows


def test_fetch_rows_maps_rows_to_lines_across_chunks(tmp_path: Path) -> None:
    lines = [f'{{"n": {i}, "pad": "{"x" * (i % 7)}"}}'.encode() for i in range(1, 501)]
    for blank_at in (0, 3, 3, 100, 250, 499):
        lines.insert(blank_at, b"  " if blank_at % 2 else b"")
    path = tmp_path / "f.ndjson"
    path.write_bytes(b"\n".join(lines))  # no newline after the last line
    located = fetch_rows(path, [1, 2, 77, 250, 499, 500], chunk_bytes=64)
    assert located.rows == 500
    non_blank = [(n, t) for n, t in enumerate(lines, start=1) if t.strip()]
    for row in (1, 2, 77, 250, 499, 500):
        assert located.found[row] == non_blank[row - 1]


@pytest.mark.parametrize("blank_every", [0, 997])
def test_fetch_rows_finds_rows_in_every_block_of_large_chunks(
    tmp_path: Path, blank_every: int
) -> None:
    rng = random.Random(blank_every)
    lines = []
    for number in range(1, 60_001):
        if blank_every and number % blank_every == 0:
            lines.append(b"" if number % 2 else b" \t")
        else:
            lines.append(f'{{"n": {number}, "pad": "{"y" * rng.randrange(80)}"}}'.encode())
    path = tmp_path / "f.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    non_blank = [(n, t) for n, t in enumerate(lines, start=1) if t.strip()]
    wanted = sorted(rng.sample(range(1, len(non_blank) + 1), 300))
    located = fetch_rows(path, wanted, chunk_bytes=3 << 20)  # blocks of 1 MiB inside
    assert located.rows == len(non_blank)
    assert [located.found[row] for row in wanted] == [non_blank[row - 1] for row in wanted]


def test_blank_lines_inside_a_large_file_keep_the_fast_path_and_exact_numbers(
    tmp_path: Path, miner_pack: RulePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_module, "FAST_PATH_MIN_BYTES", 0)
    path = write_lines(tmp_path / "m.ndjson", ["", BENIGN, "", MINER, "not json", " ", MINER, ""])
    outcome = run_scan(miner_pack, [Input(path, str(path), "ecs")])
    assert outcome.inputs[0].path_taken == "fast"
    assert [a.evidence[0].line for a in outcome.alerts] == [4, 7]
    assert [line for line, _ in outcome.inputs[0].problems.first] == [5]
    assert outcome.inputs[0].events == 3


def test_sniff_rejects_binary_and_non_ecs(tmp_path: Path) -> None:
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00\x01\x02garbage\x00")
    other = write_lines(tmp_path / "o.ndjson", [{"foo": 1}])
    assert sniff(binary)[0] is None
    assert sniff(other)[0] is None
    assert "JSON without the fields of any supported format" in sniff(other)[1]
