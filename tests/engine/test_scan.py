"""The fast path numbers rows by their position in DuckDB's output: that order must hold."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from imagehunt.engine import scan as scan_module
from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import load_pack
from imagehunt.sources import ecs
from imagehunt.sources.inputs import Input
from support.events import BENIGN, MINER, event

POOL_CONNECTION = {
    "@timestamp": "2026-11-20T10:00:00Z",
    "event": {"category": ["network"], "type": ["connection", "start"]},
    "host": {"name": "h2"},
    "process": {"name": "systemd-helper", "executable": "/usr/bin/systemd-helper", "pid": 7},
    "destination": {"ip": "45.76.10.20", "port": 3333},
}


def _benign(rng: random.Random, number: int) -> dict[str, object]:
    if number % 3:
        return event(BENIGN, **{"process.pid": number, "process.args": ["bash", "-c", "true"]})
    return event(
        POOL_CONNECTION,
        **{"destination.ip": f"10.{rng.randrange(256)}.0.{rng.randrange(256)}", "host.name": "b"},
    )


def _planted_corpus(path: Path, lines: int, planted: int, seed: int) -> list[int]:
    """A large file with ``planted`` detections at random line numbers; returns those lines."""
    rng = random.Random(seed)
    positions = sorted(rng.sample(range(1, lines + 1), planted))
    wanted = set(positions)
    with path.open("w", encoding="utf-8") as out:
        for number in range(1, lines + 1):
            if number in wanted:
                doc = MINER if number % 2 else POOL_CONNECTION
            else:
                doc = _benign(rng, number)
            out.write(json.dumps(doc) + "\n")
    return positions


@pytest.mark.parametrize("seed", [3, 11])
def test_fast_path_points_at_the_right_lines_of_a_large_file(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "big.ndjson"
    positions = _planted_corpus(path, 150_000, 40, seed)
    assert path.stat().st_size > 32 << 20  # several reader buffers: a parallel scan
    outcome = run_scan(
        load_pack(select=["miner_process", "pool_connection"]), [Input(path, "big", "ecs")]
    )
    assert outcome.inputs[0].path_taken == "fast"
    assert sorted({a.evidence[0].line for a in outcome.alerts}) == positions


def test_fast_path_falls_back_to_exact_when_rows_and_lines_disagree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.ndjson"
    positions = _planted_corpus(path, 6_000, 5, 1)
    real_fetch_rows = ecs.fetch_rows

    def shifted(file: Path, wanted: list[int]) -> ecs.RowLines:
        # What a reordered DuckDB output would look like: every row one line off.
        located = real_fetch_rows(file, [row + 1 for row in wanted])
        located.found = {row - 1: text for row, text in located.found.items()}
        return located

    monkeypatch.setattr(scan_module, "FAST_PATH_MIN_BYTES", 0)
    monkeypatch.setattr(ecs, "fetch_rows", shifted)
    outcome = run_scan(load_pack(select=["miner_process"]), [Input(path, "m", "ecs")])
    assert outcome.inputs[0].path_taken == "exact"
    miners = [p for p in positions if p % 2]
    assert [a.evidence[0].line for a in outcome.alerts] == miners
