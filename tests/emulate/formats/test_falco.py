"""Falco JSON alert writer: upstream rules fire only where they would, read-back, determinism."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from imagehunt.emulate.formats import falco
from imagehunt.emulate.steps import Connection, ProcessStart
from support.emulate_common import Scenario, at, read_back
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


def alerts(scenario: Scenario) -> list[dict[str, Any]]:
    return [json.loads(line) for line in falco.write(scenario).splitlines()]


def test_only_steps_that_fire_an_upstream_rule_are_written() -> None:
    found = alerts(linux_scenario())
    assert [(a["rule"], a["priority"]) for a in found] == [
        ("Detect crypto miners using the Stratum protocol", "Critical"),
        ("Detect outbound connections to common miner pool ports", "Critical"),
        ("Terminal shell in container", "Notice"),
        ("Launch Package Management Process in Container", "Error"),
        ("Drop and execute new binary in container", "Critical"),
    ]  # benign curl, its DNS lookup and connection, and bash -c on the host fire nothing


def test_alerts_have_falco_json_shape() -> None:
    for alert in alerts(linux_scenario()):
        assert list(alert) == [
            "hostname", "output", "priority", "rule", "source", "tags", "time", "output_fields",
        ]  # fmt: skip
        assert alert["source"] == "syscall"
        assert alert["hostname"] == "web-01"
        assert alert["tags"] == sorted(alert["tags"])
        fields = alert["output_fields"]
        assert alert["output"].startswith(alert["time"][11:29] + ": " + alert["priority"] + " ")
        assert fields["evt.time"] % 1_000_000_000 == int(alert["time"][20:29])
        # every %field of the output is in output_fields, and the text shows its value
        assert f"command={fields['proc.cmdline']} terminal={fields['proc.tty']}" in alert["output"]
        assert f"container_id={fields['container.id']} " in alert["output"]


def test_miner_alert_fields() -> None:
    miner, pool = alerts(linux_scenario())[:2]
    fields = miner["output_fields"]
    assert fields["proc.cmdline"] == "xmrig " + " ".join(XMRIG.args[1:])
    assert fields["proc.pname"] == "containerd-shim"  # comm is cut to 15 bytes
    assert (fields["container.id"], fields["container.name"]) == (
        MINER_CONTAINER.short_id, "dockerapi",
    )  # fmt: skip
    assert fields["container.image.repository"] == "alpineos/dockerapi"
    assert pool["output_fields"]["fd.name"] == f"172.17.0.2:40112->{POOL_IP}:3333"
    assert "fd_proto=fd.l4proto" in pool["output"]  # upstream's literal, no % in the rule


def test_connection_rule_needs_a_listed_domain_a_matching_port_and_a_public_address() -> None:
    base = Connection(
        time=at(1), host=WEB, attack=True, process=XMRIG, source_ip="172.17.0.2",
        source_port=40000, destination_ip=POOL_IP, destination_port=3333,
        destination_name="pool.minexmr.com",
    )  # fmt: skip
    assert falco.is_miner_pool(base)
    assert falco.is_miner_pool(replace(base, destination_port=443))  # https_miner_domains
    assert not falco.is_miner_pool(replace(base, destination_port=3000))
    assert not falco.is_miner_pool(replace(base, destination_name="example.org"))
    assert not falco.is_miner_pool(replace(base, destination_ip="127.0.0.1"))
    assert not falco.is_miner_pool(replace(base, destination_ip="10.20.8.6"))


def test_first_matching_rule_wins() -> None:
    dropped_miner = replace(
        XMRIG, executable="/tmp/xmrig", args=("/tmp/xmrig", "-o", "stratum+tcp://p:3333")
    )
    step = ProcessStart(time=at(1), host=WEB, attack=True, process=dropped_miner)
    (only,) = alerts(Scenario(seed=1, steps=(step,)))
    assert only["rule"] == "Drop and execute new binary in container"  # stable loads first
    assert only["output_fields"]["evt.arg.flags"] == "EXE_WRITABLE|EXE_UPPER_LAYER"


def test_host_miner_fires_with_host_container_fields() -> None:
    host_miner = replace(XMRIG, container=None, parent_executable="/usr/bin/bash")
    step = ProcessStart(time=at(1), host=WEB, attack=True, process=host_miner)
    (only,) = alerts(Scenario(seed=1, steps=(step,)))
    assert only["output_fields"]["container.id"] == "host"
    assert "container_id=host container_name=host" in only["output"]


def test_non_interactive_shell_in_container_fires_nothing() -> None:
    shell = replace(CURL, executable="/bin/sh", args=("sh", "-c", "date"), container=APP_CONTAINER,
                    parent_executable="/usr/bin/runc")  # fmt: skip
    step = ProcessStart(time=at(1), host=WEB, attack=False, process=shell)
    assert falco.write(Scenario(seed=1, steps=(step,))) == ""


def test_read_back_gives_exact_fields(tmp_path: Path) -> None:
    rows, problems = read_back(tmp_path / "falco.json", falco.write(linux_scenario()), "falco")
    assert problems.count == 0
    assert len(rows) == 5
    miner, pool, shell, apt, dropped = rows
    assert miner["@timestamp"].isoformat() == "2026-11-20T09:14:19.762000+00:00"
    assert (miner["event.kind"], miner["event.category"]) == ("alert", ["process"])
    assert miner["rule.name"] == "Detect crypto miners using the Stratum protocol"
    assert (miner["process.name"], miner["process.executable"]) == ("xmrig", XMRIG.executable)
    assert miner["process.command_line"] == "xmrig " + " ".join(XMRIG.args[1:])
    assert miner["process.parent.name"] == "containerd-shim"
    assert (miner["container.id"], miner["container.image.name"]) == (
        MINER_CONTAINER.short_id, "alpineos/dockerapi",
    )  # fmt: skip
    assert miner["container.image.tag"] == ["latest"]
    assert (miner["host.name"], miner["user.name"], miner["user.id"]) == ("web-01", "root", "0")
    assert pool["event.category"] == ["network"]
    assert (pool["destination.ip"], pool["destination.port"]) == (POOL_IP, 3333)
    assert (pool["source.ip"], pool["source.port"]) == ("172.17.0.2", 40112)
    assert shell["rule.name"] == "Terminal shell in container"
    assert apt["process.args"] == ["apt-get", "install", "-y", "netcat-openbsd"]
    assert dropped["process.working_directory"] == "/tmp/"


def test_windows_hosts_are_not_written() -> None:
    assert falco.write(windows_scenario()) == ""


def test_deterministic() -> None:
    # Falco alerts carry no producer-made ids: the seed changes nothing, the steps everything
    assert falco.write(linux_scenario(seed=7)) == falco.write(linux_scenario(seed=7))
    assert falco.write(linux_scenario(seed=7)) == falco.write(linux_scenario(seed=8))
