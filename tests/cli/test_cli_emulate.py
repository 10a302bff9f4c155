"""`imagehunt emulate`: telemetry of a test in a format, deterministic, readable by scan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagehunt.sources.sniff import sniff
from support.cli_run import run_cli


def test_emulate_writes_the_format_and_scan_finds_the_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t1.log"
    assert run_cli(["emulate", "1", "-f", "auditd", "-o", str(out)], capsys).code == 0
    assert sniff(out) == ("auditd", "")
    scanned = run_cli(["scan", str(out), "-f", "jsonl", "-q"], capsys)
    rules = {json.loads(line)["rule"]["name"] for line in scanned.out.splitlines()}
    assert "miner_process" in rules


def test_same_seed_same_bytes_other_seed_differs(capsys: pytest.CaptureFixture[str]) -> None:
    first = run_cli(["emulate", "2", "-f", "ecs", "--seed", "4"], capsys).out
    again = run_cli(["emulate", "2", "-f", "ecs", "--seed", "4"], capsys).out
    other = run_cli(["emulate", "2", "-f", "ecs", "--seed", "5"], capsys).out
    assert first == again and first != other
    assert "pool.minexmr.com" in first


def test_benign_only_has_no_attack(capsys: pytest.CaptureFixture[str]) -> None:
    text = run_cli(["emulate", "2", "-f", "ecs", "--benign-only"], capsys).out
    assert text and "pool.minexmr.com" not in text


def test_default_format_is_the_tests_first(capsys: pytest.CaptureFixture[str]) -> None:
    text = run_cli(["emulate", "4"], capsys).out
    assert json.loads(text)["Records"][0]["eventVersion"]


def test_a_format_the_test_does_not_exist_in_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_cli(["emulate", "4", "-f", "auditd"], capsys)
    assert result.code == 2
    assert "test 4 has no auditd telemetry" in result.err and "cloudtrail" in result.err


def test_unknown_test_number_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["emulate", "6"], capsys).code == 2


def test_help_lists_each_tests_formats_as_the_data_says(capsys: pytest.CaptureFixture[str]) -> None:
    from imagehunt.emulate.tests import TESTS

    text = run_cli(["emulate", "--help"], capsys).out
    for test in TESTS:
        line = next(x for x in text.splitlines() if x.strip().startswith(f"{test.number} "))
        assert line.rstrip().endswith(", ".join(test.formats)), line
