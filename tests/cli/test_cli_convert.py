"""`imagehunt convert`: output, rule selection, and per-rule failures with exit code 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli_run import run_cli

Cap = pytest.CaptureFixture[str]


def test_convert_selected_rules_to_a_file(tmp_path: Path, capsys: Cap) -> None:
    out = tmp_path / "q.sql"
    result = run_cli(
        ["convert", "-t", "duckdb", "-r", "miner_process", "-r", "pool_dns", "-o", str(out)],
        capsys,
    )
    assert result.code == 0
    text = out.read_text(encoding="utf-8")
    assert text.count("SELECT * FROM events WHERE") == 2
    assert "-- miner_process (high)" in text and "-- pool_dns (medium)" in text
    assert "2 of 2 rules converted to duckdb" in result.err


def test_an_unconvertible_rule_fails_alone_with_exit_3(tmp_path: Path, capsys: Cap) -> None:
    rules = tmp_path / "mine"
    rules.mkdir()
    (rules / "good.yml").write_text(
        "title: good\nname: good\nlogsource: {category: process_creation}\n"
        "detection:\n  sel:\n    process.name: xmrig\n  condition: sel\n",
        encoding="utf-8",
    )
    (rules / "bad.yml").write_text(
        "title: bad\nname: bad\nlogsource: {category: process_creation}\n"
        "detection:\n  sel:\n    NoSuchField: x\n  condition: sel\n",
        encoding="utf-8",
    )
    result = run_cli(
        ["convert", "-t", "duckdb", "--rules", str(rules), "--no-default-rules"], capsys
    )
    assert result.code == 3
    assert "1 of 2 rules converted" in result.err
    assert "bad.yml:1" in result.err and "NoSuchField" in result.err
    assert "-- good (medium)" in result.out


def test_unknown_format_is_a_usage_error(capsys: Cap) -> None:
    result = run_cli(["convert", "-t", "sigma", "-f", "xml"], capsys)
    assert result.code == 2
    assert "has no format 'xml'" in result.err


def test_eql_rule_objects_for_import(capsys: Cap) -> None:
    result = run_cli(["convert", "-t", "eql", "-f", "ndjson"], capsys)
    assert result.code == 0
    objects = [json.loads(line) for line in result.out.splitlines()]
    assert {o["type"] for o in objects} == {"eql"}
    names = {o["name"] for o in objects}
    assert "Cryptocurrency miner process started" in names
    assert any(o["query"].startswith("sequence by host.name with maxspan=5m") for o in objects)
    assert "skipped cloud_image_inventory" in result.err  # context rule: no EQL form
