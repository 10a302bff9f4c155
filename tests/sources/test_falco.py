"""Falco JSON alerts: mapping, categories, rules end to end, bad lines, sniffing."""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources import falco
from imagehunt.sources.base import Head
from imagehunt.sources.inputs import Input
from imagehunt.sources.sniff import read_rows, sniff
from support.corpus import corpus_dir
from support.events import MINER, write_lines

SAMPLES = Path(__file__).parent / "samples" / "falco"
ALERTS = SAMPLES / "alerts.json"


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


def alert(rule: str = "r", **fields: Any) -> dict[str, Any]:
    """A minimal Falco alert with these output fields."""
    return {
        "output": "text",
        "priority": "Notice",
        "rule": rule,
        "time": "2026-11-20T10:00:00.000000000Z",
        "hostname": "h",
        "source": "syscall",
        "tags": [],
        "output_fields": fields,
    }


def test_exec_alert_maps_process_container_and_kubernetes() -> None:
    rows, problems = read_rows(ALERTS, "falco")
    assert problems.count == 0
    miner = rows[0]
    assert miner["_line"] == 1
    assert miner["@timestamp"] == datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC)
    assert (miner["event.kind"], miner["event.action"]) == ("alert", "execve")
    assert miner["event.category"] == ["process"]
    assert miner["event.type"] == ["start"]
    assert miner["rule.name"] == "Detect crypto miners using the Stratum protocol"
    assert (miner["observer.product"], miner["event.module"]) == ("falco", "falco")
    assert miner["host.name"] == "node-1"
    assert miner["process.name"] == "xmrig"
    assert miner["process.executable"] == "/tmp/.x/xmrig"
    assert miner["process.args"][:3] == ["xmrig", "-o", "stratum+tcp://pool.supportxmr.com:3333"]
    assert (miner["process.pid"], miner["process.parent.pid"]) == (4242, 4200)
    assert miner["process.parent.name"] == "sh"
    assert miner["process.parent.command_line"].startswith("sh -c /tmp/.x/xmrig")
    assert (miner["user.name"], miner["user.id"]) == ("root", "0")
    assert miner["container.id"] == "4f2a9c1e7b3d"
    assert miner["container.image.name"] == "docker.io/evilns/nginx-lite"
    assert miner["container.image.tag"] == ["1.0"]
    assert miner["orchestrator.namespace"] == "default"
    assert miner["orchestrator.resource.name"] == "web-6d4cf56db6-abcde"
    assert miner["orchestrator.type"] == "kubernetes"


def test_connect_alert_is_an_outbound_connection() -> None:
    rows, _ = read_rows(ALERTS, "falco")
    conn = rows[1]
    assert conn["event.category"] == ["network"]
    assert conn["event.type"] == ["connection", "start"]
    assert (conn["destination.ip"], conn["destination.port"]) == ("45.9.148.1", 3333)
    assert (conn["source.ip"], conn["source.port"]) == ("172.17.0.5", 41234)
    assert conn["network.transport"] == "tcp"
    assert conn["network.direction"] == "egress"


def test_server_address_from_fd_name_only(tmp_path: Path) -> None:
    doc = alert(**{"evt.type": "connect", "fd.name": "10.0.0.1:5000->[2001:db8::1]:3333"})
    rows, _ = read_rows(write_lines(tmp_path / "a.json", [doc]), "falco")
    assert (rows[0]["destination.ip"], rows[0]["destination.port"]) == ("2001:db8::1", 3333)
    assert rows[0]["source.ip"] == "10.0.0.1"


def test_categories_are_only_what_the_alert_proves() -> None:
    rows, _ = read_rows(ALERTS, "falco")
    shell, shadow = rows[2], rows[3]
    # no evt.type, tagged "shell", a process and no file descriptor: a spawned process
    assert shell["event.category"] == ["process"]
    assert shell["event.id"] == "3a6e1f0c-9b1d-4f5e-8c2a-1d2e3f4a5b6c"
    # an open of /etc/shadow is a file event; "host" is not a container
    assert shadow["event.category"] == ["file"]
    assert shadow["event.type"] is None
    assert shadow["container.id"] is None
    assert shadow["container.name"] is None


def test_image_split_from_container_image_and_ns_time(tmp_path: Path) -> None:
    doc = alert(
        **{"evt.type": "ptrace", "container.id": "abc", "container.image": "r.io/a/b:2@sha"}
    )
    doc["time"] = 1795168800123456789
    no_time = alert(**{"evt.time": 1795168800000000000})
    del no_time["time"]
    rows, _ = read_rows(write_lines(tmp_path / "a.json", [doc, no_time]), "falco")
    assert rows[0]["container.image.name"] == "r.io/a/b"
    assert rows[0]["container.image.tag"] == ["2"]
    assert rows[0]["event.category"] is None
    assert rows[0]["@timestamp"] == datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC)
    assert rows[1]["@timestamp"] == datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)


def test_miner_in_container_fires_process_rules_and_the_chain(pack: RulePack) -> None:
    outcome = run_scan(pack, [Input(ALERTS, "alerts.json", "falco")])
    found = sorted((a.rule.name, tuple(e.line for e in a.evidence)) for a in outcome.alerts)
    assert found == [
        ("miner_cmdline", (1,)),
        ("miner_process", (1,)),
        ("miner_then_pool", (1, 2)),
        ("pool_connection", (2,)),
    ]
    assert all(e.file == "alerts.json" for a in outcome.alerts for e in a.evidence)


def test_benign_alerts_fire_nothing(tmp_path: Path, pack: RulePack) -> None:
    benign = [line for line in ALERTS.read_text().splitlines()[2:]]
    path = tmp_path / "benign.json"
    path.write_text("\n".join(benign) + "\n")
    outcome = run_scan(pack, [Input(path, "benign.json", "falco")])
    assert outcome.alerts == []
    assert outcome.events == 2


def test_malformed_lines_are_counted_and_neighbours_read(tmp_path: Path, pack: RulePack) -> None:
    good = json.loads(ALERTS.read_text().splitlines()[0])
    lines: list[str | dict[str, Any]] = [
        "Fri Nov 20 10:00:00 2026: Falco version: 0.39.0 (x86_64)",
        good,
        '{"rule": "cut',
        {"rule": "x", "priority": "Notice", "output_fields": "not an object"},
        "",
        {"tags": {"a": 1}, **alert(**{"proc.name": {"x": 1}, "proc.pid": "NaN"})},
        good,
    ]
    path = write_lines(tmp_path / "mixed.json", lines)
    rows, problems = read_rows(path, "falco")
    assert [r["_line"] for r in rows] == [2, 6, 7]
    assert [line for line, _ in problems.first] == [1, 3, 4]
    assert sniff(path) == ("falco", "")  # a text line before the first alert is allowed
    outcome = run_scan(pack, [Input(path, "mixed.json", "falco")])
    assert sorted(a.evidence[0].line for a in outcome.alerts if a.rule.name == "miner_process") == [
        2,
        7,
    ]


def test_gzip_input(tmp_path: Path, pack: RulePack) -> None:
    path = tmp_path / "alerts.json.gz"
    path.write_bytes(gzip.compress(ALERTS.read_bytes()))
    assert sniff(path) == ("falco", "")
    outcome = run_scan(pack, [Input(path, "gz", "falco")])
    assert {a.rule.name for a in outcome.alerts} >= {"miner_process", "pool_connection"}


def test_sniffer_claims_falco_and_rejects_others(tmp_path: Path) -> None:
    assert sniff(ALERTS) == ("falco", "")
    ecs = write_lines(tmp_path / "ecs.ndjson", [MINER])
    assert not falco.sniff(Head(name="ecs.ndjson", data=ecs.read_bytes()))
    ecs_alert = {"rule": {"name": "x"}, "event": {"kind": "alert"}, "priority": "high"}
    assert not falco.sniff(Head(name="x", data=json.dumps(ecs_alert).encode()))
    for folder in ("zeek", "qradar"):
        for sample in (SAMPLES.parent / folder).iterdir():
            assert not falco.sniff(Head(name=sample.name, data=sample.read_bytes()))


def test_corpus_parses_exactly_and_fires_nothing(pack: RulePack) -> None:
    path = corpus_dir("falco") / "elastic_integrations_test-falco_first4lines.ndjson"
    assert sniff(path) == ("falco", "")
    rows, problems = read_rows(path, "falco")
    assert (len(rows), problems.count) == (4, 0)
    assert [r["event.category"] for r in rows] == [["file"], ["process"], ["file"], ["process"]]
    assert rows[2]["container.image.name"] == "falcosecurity/event-generator"
    assert rows[2]["container.image.tag"] == ["0.10.0"]
    outcome = run_scan(pack, [Input(path, "corpus", "falco")], min_level="medium")
    assert outcome.alerts == []


def test_mutated_input_never_raises(tmp_path: Path) -> None:
    rng = random.Random(5)
    base = ALERTS.read_bytes()
    for _ in range(60):
        data = bytearray(base)
        for _ in range(rng.randint(1, 12)):
            pos = rng.randrange(len(data))
            data[pos : pos + 1] = rng.choice([b"", b"\x00", b'"', b"\n", b"{", b"\xff", b"1"])
        path = tmp_path / "m.json"
        path.write_bytes(bytes(data))
        rows, problems = read_rows(path, "falco")
        assert all(1 <= r["_line"] <= data.count(b"\n") + 1 for r in rows)
        assert len(rows) + problems.count > 0
