"""Every seed defect of shared/reference/seed_defects.md that concerns these rules, event by event.

Each test takes the event from the defects table and asserts two things: the seed query (as
reproduced in imagehunt.validate.baselines) gets it wrong, and imagehunt's named rule gets it right.
Where it helps, a control event shows the seed's branch fires once the defect is removed, so
the test pins the defect and not some other difference.

All events are scanned once, in one file; a test looks up the alerts on its event's line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import load_pack
from imagehunt.sources.inputs import Input
from imagehunt.validate.baselines import (
    aql_command_branch,
    aql_label,
    aql_matches,
    aql_result,
    aql_runinstances_branch,
    eql_branches,
    eql_dns_branch,
    eql_matches,
    eql_network_branch,
    eql_process_branch,
    flatten_event,
    wildcard_match,
)

PUBLIC_IP = "45.9.148.21"


def process_start(host: str, name: str | None, args: list[str], **extra: Any) -> dict[str, Any]:
    """Elastic Defend process start, nested form."""
    process: dict[str, Any] = {
        "pid": 4100,
        "entity_id": f"{host}-4100",
        "args": args,
        "command_line": " ".join(args),
        "parent": {"name": "bash", "executable": "/usr/bin/bash"},
    }
    if name is not None:
        process["name"] = name
    if args and args[0].startswith("/"):
        process["executable"] = args[0]
    doc: dict[str, Any] = {
        "@timestamp": "2026-11-21T08:00:00Z",
        "event": {"category": ["process"], "type": ["start"], "action": "exec"},
        "host": {"name": host},
        "process": process,
    }
    for key, value in extra.items():
        doc[key.replace("__", ".")] = value
    return doc


def connection(
    host: str,
    ip: str | None,
    port: int,
    name: str = "node",
    executable: str = "/usr/bin/node",
    event_type: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Network connection, dotted form (Sysmon 3 shape unless event_type says otherwise)."""
    doc: dict[str, Any] = {
        "@timestamp": "2026-11-21T08:00:00Z",
        "event.category": ["network"],
        "event.type": event_type or ["connection", "start"],
        "host.name": host,
        "process.pid": 2200,
        "process.name": name,
        "process.executable": executable,
        "destination.port": port,
    }
    if ip is not None:
        doc["destination.ip"] = ip
    for key, value in extra.items():
        doc[key.replace("__", ".")] = value
    return doc


def dns(host: str, name: str, event_type: list[str]) -> dict[str, Any]:
    return {
        "@timestamp": "2026-11-21T08:00:00Z",
        "event": {"category": ["network"], "type": event_type, "action": "lookup_requested"},
        "host": {"name": host},
        "dns": {"question": {"name": name, "type": "A"}},
    }


EVENTS: dict[str, dict[str, Any]] = {
    "E3": process_start("e3", "XMRig", ["/opt/XMRig/XMRig", "-c", "config.json"]),
    "E4": {
        "@timestamp": "2026-11-21T08:00:00Z",
        "event.category": ["process"],
        "event.type": ["start"],
        "event.code": "1",
        "host.name": "e4",
        "process.name": "xmrig.exe",
        "process.executable": "C:\\Users\\x\\AppData\\Local\\Temp\\xmrig.exe",
        "process.args": ["C:\\Users\\x\\AppData\\Local\\Temp\\xmrig.exe", "-c", "config.json"],
        "process.command_line": "C:\\Users\\x\\AppData\\Local\\Temp\\xmrig.exe -c config.json",
    },
    "E5": process_start(
        "e5", "sysupdate", ["./sysupdate", "-o", "pool.example.com:3333", "--donate-level=1"]
    ),
    "E6-stratum2": process_start(
        "e6a", "kworker", ["./kworker", "-o", "stratum2+tcp://eu.example-pool.net:3333"]
    ),
    "E6-tls": process_start(
        "e6b", "kworker", ["./kworker", "-o", "stratum+tls://gulf.example.org:10128"]
    ),
    "E7-pool.minexmr.com": dns("e7a", "pool.minexmr.com", ["connection", "protocol"]),
    "E7-xmr-eu1.nanopool.org": dns("e7b", "xmr-eu1.nanopool.org", ["connection", "protocol"]),
    "E8": dns("e8", "SupportXMR.com", ["connection", "protocol"]),
    "E9": dns("e9", "minexmr.com", ["protocol"]),
    "E10": connection(
        "e10",
        PUBLIC_IP,
        3333,
        name="kswapd",
        executable="/tmp/.x/kswapd",
        event_type=["start"],
        event__action="connection_attempted",
    ),
    "E11-10.20.30.40": connection("e11a", "10.20.30.40", 3333),
    "E11-172.20.1.5": connection("e11b", "172.20.1.5", 3333),
    "E12-wget": process_start(
        "e12",
        "wget",
        ["/usr/bin/wget", "-q", "-O-", "http://127.0.0.1:3333/"],
        process__parent__name="containerd-shim-runc-v2",
        process__parent__executable="/usr/bin/containerd-shim-runc-v2",
        container__id="5eed7e573333",
    ),
    "E12-connection": connection("e12", "127.0.0.1", 3333, name="wget", executable="/usr/bin/wget"),
    "E13-renamed-chrome": connection(
        "e13a",
        PUBLIC_IP,
        3333,
        name="chrome.exe",
        executable="C:\\Users\\x\\AppData\\Local\\Temp\\chrome.exe",
    ),
    "E13-linux-firefox": connection(
        "e13b", PUBLIC_IP, 3333, name="firefox", executable="/usr/lib/firefox/firefox"
    ),
    "E14": connection(
        "e14",
        "94.130.12.27",
        443,
        name="xmrig",
        executable="/tmp/.x/xmrig",
        destination__domain="pool.supportxmr.com",
    ),
    "E15": connection(
        "e15", PUBLIC_IP, 8333, name="bitcoind", executable="/usr/local/bin/bitcoind"
    ),
    "A1-172.20.1.5": connection("a1a", "172.20.1.5", 3333),
    "A1-172.31.0.9": connection("a1b", "172.31.0.9", 3333),
    "A2-fd12:3456::1": connection("a2a", "fd12:3456::1", 3333),
    "A2-::1": connection("a2b", "::1", 3333),
    "A2-169.254.10.1": connection("a2c", "169.254.10.1", 3333),
    "A2-100.64.12.7": connection("a2d", "100.64.12.7", 3333),
    "A2-fe80::1": connection("a2e", "fe80::1", 3333),
    "A3": connection(
        "a3",
        PUBLIC_IP,
        3333,
        name="chrome.exe",
        executable="C:\\Users\\x\\AppData\\Local\\Temp\\chrome.exe",
    ),
    "A6-both": process_start(
        "a6a", "xmrig", ["/tmp/xmrig", "-o", "stratum+tcp://pool.example.com:3333"]
    ),
    "A6-unknown": process_start("a6b", "cryptonight", ["/tmp/cryptonight"]),
    "A8-8333": connection(
        "a8a", PUBLIC_IP, 8333, name="bitcoind", executable="/usr/local/bin/bitcoind"
    ),
    "A8-443": connection(
        "a8b",
        "94.130.12.27",
        443,
        name="kswapd",
        executable="/tmp/.x/kswapd",
        destination__domain="pool.supportxmr.com",
    ),
}


@pytest.fixture(scope="module")
def alerted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Event key -> {rule name: alert branch} of the single-event alerts on its line."""
    path = tmp_path_factory.mktemp("seed_defects") / "defect_events.ndjson"
    keys = list(EVENTS)
    path.write_text("".join(json.dumps(EVENTS[k]) + "\n" for k in keys), encoding="utf-8")
    outcome = run_scan(load_pack(), [Input(path, str(path), "ecs")])
    assert not outcome.rule_errors, [str(e) for e in outcome.rule_errors]
    assert outcome.events == len(keys)
    by_line: dict[int, dict[str, str]] = {}
    for alert in outcome.alerts:
        if len(alert.evidence) == 1:
            by_line.setdefault(alert.evidence[0].line, {})[alert.rule.name] = alert.rule.branch
    return {key: by_line.get(number, {}) for number, key in enumerate(keys, start=1)}


def seed_view(key: str, **changes: Any) -> dict[str, Any]:
    """The event as the seed predicates see it, with optional field changes (controls)."""
    event = flatten_event(EVENTS[key])
    event.update(changes)
    return event


def reports(alerted: Mapping[str, Mapping[str, str]], key: str, rule: str) -> bool:
    return rule in alerted[key]


# ---- Elastic EQL ---------------------------------------------------------------------------
# E1 (`nor` does not parse) and E2 (a one-step sequence is invalid in Elasticsearch) are about
# the query text, not about an event (tests/validate/test_baselines.py shows E1); the
# predicates read the query with its intended structure.


def test_e3_in_is_case_sensitive(alerted: dict[str, dict[str, str]]) -> None:
    event = seed_view("E3")
    assert not eql_process_branch(event)
    assert eql_process_branch(seed_view("E3", **{"process.name": "xmrig"}))  # control
    assert reports(alerted, "E3", "miner_process")


def test_e4_no_windows_names(alerted: dict[str, dict[str, str]]) -> None:
    assert not eql_matches(seed_view("E4"))
    assert reports(alerted, "E4", "miner_process")


def test_e5_args_are_one_token_each(alerted: dict[str, dict[str, str]]) -> None:
    event = seed_view("E5")
    assert not any(wildcard_match(arg, "-o pool.*") for arg in event["process.args"])
    assert not eql_process_branch(event)
    assert reports(alerted, "E5", "miner_cmdline")


@pytest.mark.parametrize("key", ["E6-stratum2", "E6-tls"])
def test_e6_stratum_variants_missing(alerted: dict[str, dict[str, str]], key: str) -> None:
    assert not eql_process_branch(seed_view(key))
    assert reports(alerted, key, "miner_cmdline")


@pytest.mark.parametrize("key", ["E7-pool.minexmr.com", "E7-xmr-eu1.nanopool.org"])
def test_e7_dns_names_are_exact_apexes(alerted: dict[str, dict[str, str]], key: str) -> None:
    event = seed_view(key)
    assert "connection" in event["event.type"]  # only the name can be the reason
    assert not eql_dns_branch(event)
    assert reports(alerted, key, "pool_dns")


def test_e8_dns_in_is_case_sensitive(alerted: dict[str, dict[str, str]]) -> None:
    assert not eql_dns_branch(seed_view("E8"))
    assert eql_dns_branch(seed_view("E8", **{"dns.question.name": "supportxmr.com"}))  # control
    assert reports(alerted, "E8", "pool_dns")


def test_e9_dns_branch_requires_connection(alerted: dict[str, dict[str, str]]) -> None:
    assert not eql_dns_branch(seed_view("E9"))
    assert eql_dns_branch(seed_view("E9", **{"event.type": ["connection"]}))  # control
    assert reports(alerted, "E9", "pool_dns")


def test_e10_elastic_defend_connection_attempted(alerted: dict[str, dict[str, str]]) -> None:
    assert not eql_network_branch(seed_view("E10"))
    assert eql_network_branch(seed_view("E10", **{"event.type": ["connection"]}))  # control
    assert reports(alerted, "E10", "pool_connection")


@pytest.mark.parametrize("key", ["E11-10.20.30.40", "E11-172.20.1.5"])
def test_e11_cidr_written_as_string_pattern(alerted: dict[str, dict[str, str]], key: str) -> None:
    assert eql_network_branch(seed_view(key))  # false alarm on a private address
    assert not reports(alerted, key, "pool_connection")


def test_e12_seed_test_3_cannot_fire(alerted: dict[str, dict[str, str]]) -> None:
    # With the loopback exclusion working as intended, no seed branch sees atomic test 3.
    assert eql_branches(seed_view("E12-wget"), cidr_as_intended=True) == []
    assert eql_branches(seed_view("E12-connection"), cidr_as_intended=True) == []
    # imagehunt keeps loopback out of pool_connection and still catches test 3 by its
    # downloader spawned by the container runtime.
    assert not reports(alerted, "E12-connection", "pool_connection")
    assert reports(alerted, "E12-wget", "container_downloader")


def test_e13_renamed_chrome_evades(alerted: dict[str, dict[str, str]]) -> None:
    assert not eql_network_branch(seed_view("E13-renamed-chrome"))
    control = seed_view("E13-renamed-chrome", **{"process.name": "svc.exe"})
    assert eql_network_branch(control)
    assert reports(alerted, "E13-renamed-chrome", "pool_connection")


def test_e13_linux_firefox_not_excluded(alerted: dict[str, dict[str, str]]) -> None:
    assert eql_network_branch(seed_view("E13-linux-firefox"))
    assert not reports(alerted, "E13-linux-firefox", "pool_connection")


def test_e14_pool_on_443_missed(alerted: dict[str, dict[str, str]]) -> None:
    assert not eql_matches(seed_view("E14"))
    assert reports(alerted, "E14", "pool_connection")


def test_e15_bitcoin_p2p_false_alarm(alerted: dict[str, dict[str, str]]) -> None:
    assert eql_network_branch(seed_view("E15"))
    assert not reports(alerted, "E15", "pool_connection")


def cloudtrail_event(action: str, **fields: Any) -> dict[str, Any]:
    """A CloudTrail record as normalized rows carry it (ECS dotted form)."""
    doc: dict[str, Any] = {
        "@timestamp": "2026-11-21T08:00:00Z",
        "event.provider": "ec2.amazonaws.com",
        "event.action": action,
        "cloud.account.id": "111122223333",
        "cloud.region": "us-east-1",
    }
    doc.update({key.replace("__", "."): value for key, value in fields.items()})
    return doc


def describe_images(image: str, owner: str, public: bool) -> dict[str, Any]:
    response = {
        "imagesSet": {"items": [{"imageId": image, "imageOwnerId": owner, "isPublic": public}]}
    }
    return cloudtrail_event(
        "DescribeImages", aws__cloudtrail__response_elements=json.dumps(response)
    )


CLOUD_EVENTS: dict[str, dict[str, Any]] = {
    "describe-community": describe_images("ami-0c0mmun1ty0000aa", "777788889999", True),
    "describe-own": describe_images("ami-0own00000000000aa", "111122223333", False),
    "A5-community": cloudtrail_event(
        "RunInstances",
        aws__ec2__image_ids=["ami-0c0mmun1ty0000aa"],
        aws__ec2__instance_type="t3.medium",
        aws__ec2__instance_count=1,
    ),
    "A5-own": cloudtrail_event(
        "RunInstances",
        aws__ec2__image_ids=["ami-0own00000000000aa"],
        aws__ec2__instance_type="t3.medium",
        aws__ec2__instance_count=1,
    ),
    "A4-failed": cloudtrail_event(
        "RunInstances",
        aws__ec2__image_ids=["ami-0unkn0wn00000aa"],
        aws__ec2__instance_type="t3.micro",
        aws__ec2__instance_count=1,
        aws__cloudtrail__error_code="Client.UnauthorizedOperation",
    ),
    "A4-autoscaling": cloudtrail_event(
        "RunInstances",
        aws__ec2__image_ids=["ami-0own00000000000aa"],
        aws__ec2__instance_type="m5.large",
        aws__ec2__instance_count=1,
        user__name="AutoScaling",
        source__address="autoscaling.amazonaws.com",
    ),
}


@pytest.fixture(scope="module")
def cloud_levels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """Event key -> level of the cloud_image_launch alert on its line (None: no alert)."""
    path = tmp_path_factory.mktemp("seed_cloud") / "cloudtrail_events.ndjson"
    keys = list(CLOUD_EVENTS)
    path.write_text("".join(json.dumps(CLOUD_EVENTS[k]) + "\n" for k in keys), encoding="utf-8")
    outcome = run_scan(load_pack(), [Input(path, str(path), "ecs")])
    by_line = {
        a.evidence[0].line: a.level for a in outcome.alerts if a.rule.name == "cloud_image_launch"
    }
    return {key: by_line.get(number) for number, key in enumerate(keys, start=1)}


def test_e16_no_cloudtrail_branch(cloud_levels: dict[str, str | None]) -> None:
    """E16: the EQL lists CloudTrail as a source but has no RunInstances branch."""
    event = flatten_event(CLOUD_EVENTS["A5-community"])
    assert not eql_matches(event)
    assert cloud_levels["A5-community"] == "high"


def test_a4_every_runinstances_flagged(cloud_levels: dict[str, str | None]) -> None:
    """A4: failed or routine RunInstances calls are flagged like any other."""
    for key in ("A4-failed", "A4-autoscaling", "A5-community"):
        assert aql_runinstances_branch(flatten_event(CLOUD_EVENTS[key]))
    assert cloud_levels["A4-autoscaling"] is None  # own image, ordinary size: no alert
    assert cloud_levels["A4-failed"] == "informational"  # unknown owner (low), failed: lower


def test_a5_launched_image_not_checked(cloud_levels: dict[str, str | None]) -> None:
    """A5: a community AMI and an own AMI give the same result."""
    community = flatten_event(CLOUD_EVENTS["A5-community"])
    own = flatten_event(CLOUD_EVENTS["A5-own"])
    assert aql_runinstances_branch(community) == aql_runinstances_branch(own) is True
    assert cloud_levels["A5-community"] == "high"
    assert cloud_levels["A5-own"] is None


# ---- QRadar AQL ----------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["A1-172.20.1.5", "A1-172.31.0.9"])
def test_a1_private_range_by_prefix(alerted: dict[str, dict[str, str]], key: str) -> None:
    assert aql_matches(seed_view(key))
    assert not reports(alerted, key, "pool_connection")


@pytest.mark.parametrize(
    "key", ["A2-fd12:3456::1", "A2-::1", "A2-169.254.10.1", "A2-100.64.12.7", "A2-fe80::1"]
)
def test_a2_reserved_ranges_not_excluded(alerted: dict[str, dict[str, str]], key: str) -> None:
    assert aql_matches(seed_view(key))
    assert not reports(alerted, key, "pool_connection")


def test_a3_browser_name_substring_evasion(alerted: dict[str, dict[str, str]]) -> None:
    assert not aql_matches(seed_view("A3"))
    assert aql_matches(seed_view("A3", **{"process.name": "svc.exe"}))  # control
    assert reports(alerted, "A3", "pool_connection")


def test_a6_case_keeps_only_the_first_label(alerted: dict[str, dict[str, str]]) -> None:
    event = seed_view("A6-both")
    assert aql_command_branch(event) is True  # the row is a command-line hit too ...
    assert aql_label(event) == "MinerProcessExecution"  # ... but shows one label
    assert {"miner_process", "miner_cmdline"} <= set(alerted["A6-both"])
    assert alerted["A6-both"]["miner_process"] == "MinerProcessExecution"
    assert alerted["A6-both"]["miner_cmdline"] == "MinerCommandLineArgs"


def test_a6_row_in_where_but_no_when_is_unknown(alerted: dict[str, dict[str, str]]) -> None:
    event = seed_view("A6-unknown")
    assert aql_matches(event)
    assert aql_label(event) == "Unknown"
    assert alerted["A6-unknown"].get("miner_process") == "MinerProcessExecution"


@pytest.mark.parametrize("fmt", ["falco", "zeek", "docker", "k8s", "ecs"])
def test_a7_log_source_types_hard_coded(alerted: dict[str, dict[str, str]], fmt: str) -> None:
    """A7: xmrig logged by a sensor outside LOGSOURCETYPEID (12, 347, 433) is invisible."""
    row = seed_view("A6-both", _format=fmt)
    result = aql_result(row)
    assert not result.visible
    assert not result.matched
    assert aql_result(seed_view("A6-both", _format="auditd")).matched  # control: type 433
    assert reports(alerted, "A6-both", "miner_process")


def test_a8_same_port_list_false_alarm(alerted: dict[str, dict[str, str]]) -> None:
    assert aql_matches(seed_view("A8-8333"))
    assert not reports(alerted, "A8-8333", "pool_connection")


def test_a8_same_port_list_misses_pool_on_443(alerted: dict[str, dict[str, str]]) -> None:
    assert not aql_matches(seed_view("A8-443"))
    assert reports(alerted, "A8-443", "pool_connection")


def test_every_event_was_read(alerted: dict[str, dict[str, str]]) -> None:
    assert set(alerted) == set(EVENTS)


def test_seed_reads_nested_and_dotted_alike() -> None:
    nested = flatten_event(EVENTS["E3"])
    assert nested["process.name"] == "XMRig"
    assert nested["event.type"] == ["start"]
    dotted = flatten_event({"event.type": "start", "destination.port": "3333", "_case": "x"})
    assert dotted == {"event.type": ["start"], "destination.port": 3333}
