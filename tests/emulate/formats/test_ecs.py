"""Elastic Defend NDJSON writer: shape, read-back through the ECS reader, determinism."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from imagehunt.emulate.formats import ecs
from support.emulate_common import read_back
from support.emulate_steps_hostlogs import (
    APP_CONTAINER,
    CURL,
    MINER_CONTAINER,
    POOL_IP,
    WEB,
    XMRIG,
    linux_scenario,
    windows_scenario,
)


def test_documents_have_the_defend_shape() -> None:
    docs = [json.loads(line) for line in ecs.write(linux_scenario()).splitlines()]
    # 6 process starts, 2 connections, 1 lookup; pulls/container starts skipped
    assert len(docs) == 9
    start = docs[0]
    assert start["event"]["dataset"] == start["data_stream"]["dataset"]
    assert start["data_stream"] == {
        "dataset": "endpoint.events.process",
        "namespace": "default",
        "type": "logs",
    }
    assert (start["event"]["action"], start["event"]["module"]) == ("exec", "endpoint")
    assert start["agent"]["type"] == "endpoint"
    assert start["ecs"]["version"] == ecs.ECS_VERSION
    assert start["process"]["args_count"] == len(CURL.args)
    assert start["host"]["os"]["type"] == "linux"
    assert "container" not in start
    # Elastic Defend has no DNS events on Linux: Packetbeat's transaction document instead
    (lookup,) = [d for d in docs if d.get("type") == "dns"]
    assert lookup["agent"]["type"] == "packetbeat"
    assert lookup["event"]["dataset"] == "network_traffic.dns"
    assert lookup["event"]["type"] == ["connection", "protocol"]
    assert lookup["dns"]["question"] == {
        "name": "api.github.com",
        "type": "A",
        "class": "IN",
        "top_level_domain": "com",
        "registered_domain": "github.com",
        "subdomain": "api",
    }
    assert lookup["dns"]["resolved_ip"] == ["140.82.121.6"]
    assert lookup["destination"]["port"] == 53
    assert "process" not in lookup


def test_windows_dns_is_defends_lookup_pair() -> None:
    docs = [json.loads(line) for line in ecs.write(windows_scenario()).splitlines()]
    lookups = [d for d in docs if d["event"].get("action", "").startswith("lookup_")]
    actions = [d["event"]["action"] for d in lookups]
    assert actions[:2] == ["lookup_requested", "lookup_result"]
    assert "resolved_ip" not in lookups[0]["dns"]
    assert all(d["agent"]["type"] == "endpoint" for d in lookups)


def test_read_back_gives_exact_fields(tmp_path: Path) -> None:
    rows, problems = read_back(tmp_path / "endpoint.ndjson", ecs.write(linux_scenario()), "ecs")
    assert problems.count == 0
    assert len(rows) == 9
    curl = rows[0]
    assert curl["@timestamp"] == datetime(2026, 11, 20, 9, 14, 7, 412000, tzinfo=UTC)
    assert curl["event.category"] == ["process"]
    assert curl["event.type"] == ["start"]
    assert curl["process.name"] == "curl"
    assert curl["process.args"] == list(CURL.args)
    assert curl["process.command_line"] == CURL.command_line
    assert curl["process.parent.name"] == "bash"
    assert curl["process.parent.command_line"] == "-bash"
    assert (curl["user.name"], curl["user.id"]) == ("deploy", "1001")
    assert (curl["host.name"], curl["host.ip"]) == ("web-01", [WEB.ip])
    assert curl["process.working_directory"] == "/home/deploy"
    miner = next(r for r in rows if r["process.name"] == "xmrig" and r["event.type"] == ["start"])
    assert miner["container.id"] == MINER_CONTAINER.id
    assert miner["container.image.name"] == "alpineos/dockerapi"
    assert miner["container.image.tag"] == ["latest"]
    assert miner["process.parent.name"] == "containerd-shim-runc-v2"
    assert miner["process.pid"] == XMRIG.pid
    pool = next(r for r in rows if r["destination.ip"] == POOL_IP)
    assert pool["event.action"] == "connection_attempted"
    assert (pool["destination.port"], pool["source.port"]) == (3333, 40112)
    assert (pool["network.direction"], pool["network.transport"]) == ("egress", "tcp")
    assert pool["process.entity_id"] == miner["process.entity_id"]
    result = next(r for r in rows if r["dns.question.name"])
    assert result["dns.question.name"] == "api.github.com"
    assert result["dns.question.type"] == "A"
    assert result["dns.resolved_ip"] == ["140.82.121.6"]
    shell = next(r for r in rows if r["process.name"] == "bash" and r.get("container.id"))
    assert shell["container.id"] == APP_CONTAINER.id


def test_parent_entity_id_links_to_the_parent_event(tmp_path: Path) -> None:
    rows, _ = read_back(tmp_path / "e.ndjson", ecs.write(linux_scenario()), "ecs")
    shell = next(r for r in rows if r["process.name"] == "bash" and r.get("container.id"))
    apt = next(r for r in rows if r["process.name"] == "apt-get")
    assert apt["process.parent.entity_id"] == shell["process.entity_id"]


def test_windows_host_uses_windows_action_and_user_domain() -> None:
    docs = [json.loads(line) for line in ecs.write(windows_scenario()).splitlines()]
    start = docs[0]
    assert start["event"]["action"] == "start"
    assert start["host"]["os"]["type"] == "windows"
    assert start["user"]["domain"] == "CORP"
    assert start["process"]["name"] == "msedge.exe"


def test_deterministic_per_seed() -> None:
    first = ecs.write(linux_scenario(seed=7))
    assert first == ecs.write(linux_scenario(seed=7))
    other = ecs.write(linux_scenario(seed=8))
    ids = [json.loads(x)["event"].get("id") for x in first.splitlines()]
    other_ids = [json.loads(x)["event"].get("id") for x in other.splitlines()]
    ids, other_ids = [i for i in ids if i], [i for i in other_ids if i]
    assert set(ids).isdisjoint(other_ids)
    assert len(set(ids)) == len(ids)
