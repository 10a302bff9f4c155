"""`imagehunt validate`: the matrix as JSON and HTML, and a user's EQL over the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli_run import run_cli


def test_validate_json_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "m.html"
    keep = tmp_path / "telemetry"
    result = run_cli(["validate", "-f", "json", "--html", str(page), "--keep", str(keep)], capsys)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["detected"] is True and len(doc["cells"]) == 20
    assert "nor" in doc["seed_eql_parse_error"]
    cell = next(c for c in doc["cells"] if (c["test"], c["format"]) == (4, "cloudtrail"))
    assert [f["rule"] for f in cell["fired"]] == ["cloud_image_launch"]
    assert (keep / cell["file"]).is_file()  # the evidence file is kept for inspection
    html = page.read_text(encoding="utf-8")
    assert html.count('<tr class="ok">') == 20 and "<script" not in html
    assert "20 of 20" in result.err


def test_validate_eql_reports_caught_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "mine.eql"
    query.write_text('process where process.name == "xmrig"\n', encoding="utf-8")
    result = run_cli(["validate", "--eql", str(query), "-f", "json"], capsys)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    caught = {t["test"]: t["caught"] for t in doc["tests"]}
    assert caught == {1: True, 2: False, 3: False, 4: False, 5: False}
    assert doc["engine_differences"]
    assert all(not t["benign_events_matched"] for t in doc["tests"])


def test_validate_eql_syntax_error_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "bad.eql"
    query.write_text("process where\n  process.name ==\n", encoding="utf-8")
    result = run_cli(["validate", "--eql", str(query)], capsys)
    assert result.code == 3
    assert str(query) in result.err
