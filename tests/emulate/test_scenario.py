"""Scenarios: deterministic, the attack of each test as the seeds describe it, benign apart."""

from __future__ import annotations

import pytest

from imagehunt.emulate import environment
from imagehunt.emulate.scenario import ATTACK_SPANS, build
from imagehunt.emulate.steps import (
    CloudCall,
    Connection,
    ContainerStart,
    DnsLookup,
    ImagePull,
    ProcessStart,
)
from imagehunt.emulate.tests import TESTS, get_test


def test_same_seed_same_steps_other_seed_other_steps() -> None:
    assert build(2, "ecs", 7) == build(2, "ecs", 7)
    assert build(2, "ecs", 7).steps != build(2, "ecs", 8).steps


def test_benign_background_does_not_depend_on_the_test() -> None:
    benign = [s for s in build(None, "auditd", 3).steps]
    for test in (1, 2, 3, 5):
        assert [s for s in build(test, "auditd", 3).steps if not s.attack] == benign


def test_attack_only_when_asked() -> None:
    assert build(1, "ecs", 0).attack_steps
    assert not build(1, "ecs", 0, attack=False).attack_steps
    assert not build(None, "ecs", 0).attack_steps


def test_windows_formats_run_on_a_windows_host() -> None:
    scenario = build(2, "winlogbeat", 0)
    assert {s.host.os for s in scenario.steps} == {"windows"}
    start = next(s for s in scenario.attack_steps if isinstance(s, ProcessStart))
    assert start.process.name == "powershell.exe"
    assert "Test-NetConnection -ComputerName pool.minexmr.com -Port 3333" in start.process.args


def test_test1_is_xmrig_under_the_shim_in_a_container() -> None:
    steps = build(1, "auditd", 0).attack_steps
    start = next(s for s in steps if isinstance(s, ProcessStart))
    assert start.process.name == "xmrig"
    assert start.process.parent_name.startswith("containerd-shim")
    assert start.process.container is not None
    assert any(isinstance(s, ContainerStart) for s in steps)


def test_test2_asks_the_name_then_connects_to_a_public_pool_port() -> None:
    steps = build(2, "ecs", 0).attack_steps
    lookup = next(s for s in steps if isinstance(s, DnsLookup))
    connect = next(s for s in steps if isinstance(s, Connection))
    assert lookup.name == "pool.minexmr.com"
    assert connect.destination_port == 3333
    assert connect.destination_ip in lookup.answers
    assert connect.destination_ip in environment.POOL_ADDRESSES


def test_test3_pulls_then_wget_from_the_runtime_to_loopback() -> None:
    steps = build(3, "docker", 0).attack_steps
    assert isinstance(steps[0], ImagePull)
    wget = next(s for s in steps if isinstance(s, ProcessStart))
    assert wget.process.name == "wget" and wget.process.parent_name.startswith("containerd-shim")
    connect = next(s for s in steps if isinstance(s, Connection))
    assert (connect.destination_ip, connect.destination_port) == ("127.0.0.1", 3333)


def test_test4_runs_a_community_ami_then_stops_it() -> None:
    calls = [s for s in build(4, "cloudtrail", 0).attack_steps if isinstance(s, CloudCall)]
    assert [c.event_name for c in calls] == ["RunInstances", "StopInstances"]
    run = calls[0]
    assert run.region == "us-east-1"
    assert run.request["instancesSet"]["items"][0]["imageId"] == environment.COMMUNITY_AMI
    assert environment.COMMUNITY_AMI not in environment.validation_config().cloud.image_owners


def test_test5_credentials_on_the_command_line_and_in_the_environment() -> None:
    steps = build(5, "k8s", 0).attack_steps
    start = next(s for s in steps if isinstance(s, ContainerStart))
    assert any(v.startswith("AWS_SECRET_ACCESS_KEY=") for v in start.container.env)
    assert start.pod  # Kubernetes runs it as a pod
    curl = next(s for s in steps if isinstance(s, ProcessStart))
    assert "AWS_SECRET_ACCESS_KEY=" in curl.process.command_line


@pytest.mark.parametrize("seed", range(5))
def test_benign_steps_stay_out_of_the_attack_spans(seed: int) -> None:
    for test in TESTS:
        for fmt in test.formats:
            scenario = build(test.number, fmt, seed)
            start = min(s.time for s in scenario.attack_steps)
            for step in scenario.steps:
                if step.attack:
                    continue
                offset = (step.time - start).total_seconds()
                assert not any(low <= offset <= high for low, high in ATTACK_SPANS), step
                assert not scenario.is_attack_time(step.time)


def test_every_test_names_rules_for_each_of_its_formats() -> None:
    assert [t.number for t in TESTS] == [1, 2, 3, 4, 5]
    assert get_test(3).formats == ("docker", "ecs", "auditd", "sysmon")
    for test in TESTS:
        assert all(test.expected_rules[f] for f in test.formats)
