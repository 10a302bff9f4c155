"""write_alerts: format dispatch, stdout, atomic file output."""

from __future__ import annotations

import csv
import io
import json
import os
import stat

import pytest

import imagehunt.alerts.output as output_mod
from imagehunt.alerts.output import FORMATS, write_alerts
from imagehunt.errors import UsageError


def write(alerts, fmt, output=None, **kwargs):
    stdout = io.StringIO()
    write_alerts(alerts, fmt, pack_version="2024.05.0", output=output, stdout=stdout, **kwargs)
    return stdout.getvalue()


def test_formats():
    assert FORMATS == ("table", "jsonl", "json", "csv", "sarif")


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "sarif", "table"])
def test_stdout_and_file_give_the_same_text(alerts, tmp_path, fmt):
    target = tmp_path / f"out.{fmt}"
    on_stdout = write(alerts, fmt, console_width=150)
    assert write(alerts, fmt, output=target, console_width=150) == ""
    assert target.read_bytes().decode("utf-8") == on_stdout
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_each_format_parses(alerts):
    assert [json.loads(line)["id"] for line in write(alerts, "jsonl").splitlines()] == [
        a.id for a in alerts
    ]
    assert json.loads(write(alerts, "json"))["summary"]["total"] == 3
    assert json.loads(write(alerts, "sarif"))["version"] == "2.1.0"
    assert len(list(csv.reader(io.StringIO(write(alerts, "csv"), newline="")))) == 4
    assert "miner_process" in write(alerts, "table", console_width=150)


def test_csv_file_keeps_crlf(alerts, tmp_path):
    target = tmp_path / "a.csv"
    write(alerts, "csv", output=target)
    data = target.read_bytes()
    assert data.count(b"\r\n") == 4
    assert b"\r\r\n" not in data


def test_table_file_is_plain_text(alerts, tmp_path, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    target = tmp_path / "alerts.txt"
    write(alerts, "table", output=target)
    text = target.read_text(encoding="utf-8")
    assert "\x1b" not in text
    assert "pull_then_mine" in text
    assert "logs/docker events.json:3" in text


def test_unknown_format_is_a_usage_error(alerts, tmp_path):
    target = tmp_path / "x.out"
    with pytest.raises(UsageError) as info:
        write(alerts, "xml", output=target)
    assert info.value.exit_code == 2
    assert "xml" in str(info.value)
    assert "sarif" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_failed_render_leaves_existing_target_untouched(alerts, tmp_path, monkeypatch):
    target = tmp_path / "alerts.jsonl"
    target.write_text("previous run\n", encoding="utf-8")

    def half_then_fail(items):
        yield '{"partial": '
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(output_mod, "render_jsonl", half_then_fail)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        write(alerts, "jsonl", output=target)
    assert target.read_text(encoding="utf-8") == "previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["alerts.jsonl"]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "sarif"])
def test_unserializable_field_fails_without_partial_file(alerts, make_alert, tmp_path, fmt):
    target = tmp_path / "new.out"
    bad = [*alerts, make_alert(fields={"weird": object()})]
    with pytest.raises(TypeError):
        write(bad, fmt, output=target)
    assert list(tmp_path.iterdir()) == []


def test_existing_target_keeps_its_mode(alerts, tmp_path):
    target = tmp_path / "alerts.json"
    target.write_text("{}", encoding="utf-8")
    target.chmod(0o640)
    write(alerts, "json", output=target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert json.loads(target.read_text(encoding="utf-8"))["pack_version"] == "2024.05.0"


def test_new_target_follows_umask(alerts, tmp_path):
    old = os.umask(0o027)
    try:
        write(alerts, "jsonl", output=tmp_path / "a.jsonl")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.jsonl").stat().st_mode) == 0o640


def test_symlinked_target_is_written_through(alerts, tmp_path):
    real = tmp_path / "real.jsonl"
    real.write_text("", encoding="utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    write(alerts, "jsonl", output=link)
    assert link.is_symlink()
    assert len(real.read_text(encoding="utf-8").splitlines()) == 3


def test_missing_directory_is_a_usage_error(alerts, tmp_path):
    target = tmp_path / "nope" / "a.jsonl"
    with pytest.raises(UsageError) as info:
        write(alerts, "jsonl", output=target)
    assert info.value.file == str(target)
    assert not (tmp_path / "nope").exists()


def test_zero_alerts(tmp_path):
    assert write([], "jsonl") == ""
    assert write([], "csv").startswith("id,timestamp,level,")
    target = tmp_path / "empty.jsonl"
    write([], "jsonl", output=target)
    assert target.read_bytes() == b""
