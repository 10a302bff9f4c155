"""Kubernetes audit log writer: Event shape, read-back through the k8s reader, determinism."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from imagehunt.emulate.formats import k8s
from support.emulate_common import at, read_back
from support.emulate_steps_infra import (
    NODE,
    POD_CURL,
    POD_MINER,
    POD_NAME,
    SERVICE_ACCOUNT,
    XMRIG_ARGS,
    docker_scenario,
    k8s_scenario,
)

EVENT_KEYS = [
    "kind",
    "apiVersion",
    "level",
    "auditID",
    "stage",
    "requestURI",
    "verb",
    "user",
    "sourceIPs",
    "userAgent",
    "objectRef",
    "responseStatus",
]
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _events(seed: int = 7) -> list[dict[str, Any]]:
    return [json.loads(line) for line in k8s.write(k8s_scenario(seed)).splitlines()]


def test_every_event_has_the_audit_shape() -> None:
    events = _events()
    assert [(e["objectRef"].get("subresource"), e["stage"]) for e in events] == [
        (None, "ResponseComplete"),
        ("exec", "ResponseStarted"),
        ("exec", "ResponseStarted"),
        ("exec", "ResponseComplete"),
    ]
    for event in events:
        assert list(event)[: len(EVENT_KEYS)] == EVENT_KEYS
        assert (event["kind"], event["apiVersion"]) == ("Event", "audit.k8s.io/v1")
        assert event["level"] == "Request"
        assert event["verb"] == "create"
        assert UUID.match(event["auditID"])
        assert MICRO_TIME.match(event["requestReceivedTimestamp"])
        assert event["stageTimestamp"] > event["requestReceivedTimestamp"]
        assert event["sourceIPs"] == [NODE.ip]
        assert event["userAgent"].startswith("kubectl/v1.")
        assert event["user"] == {
            "username": SERVICE_ACCOUNT,
            "groups": [
                "system:serviceaccounts",
                "system:serviceaccounts:ci",
                "system:authenticated",
            ],
        }
        assert event["annotations"]["authorization.k8s.io/decision"] == "allow"
        assert list(event["annotations"]) == sorted(event["annotations"])  # a Go map
    assert len({e["auditID"] for e in events}) == 3
    written = [e["stageTimestamp"] for e in events]
    assert written == sorted(written)


def test_pod_creation_carries_the_defaulted_pod() -> None:
    create = _events()[0]
    assert create["requestURI"] == "/api/v1/namespaces/ci/pods?fieldManager=kubectl-run"
    assert create["objectRef"] == {
        "resource": "pods",
        "namespace": "ci",
        "name": POD_NAME,
        "apiVersion": "v1",
    }
    assert create["responseStatus"] == {"metadata": {}, "code": 201}
    assert create["requestReceivedTimestamp"] == "2026-11-20T09:14:12.412000Z"
    pod = create["requestObject"]
    assert (pod["kind"], pod["apiVersion"], pod["metadata"]["name"]) == ("Pod", "v1", POD_NAME)
    container = pod["spec"]["containers"][0]
    assert container["image"] == POD_MINER.image
    assert container["command"] == list(XMRIG_ARGS)
    assert container["env"] == [{"name": "POOL", "value": "pool.minexmr.com:3333"}]
    assert container["imagePullPolicy"] == "Always"
    assert pod["spec"]["restartPolicy"] == "Always"


def test_exec_puts_the_command_in_the_query_as_kubectl_sends_it() -> None:
    shell, curl, curl_done = _events()[1:]
    assert shell["responseStatus"] == {"metadata": {}, "code": 101}
    url = urlsplit(shell["requestURI"])
    assert url.path == f"/api/v1/namespaces/ci/pods/{POD_NAME}/exec"
    assert url.query == "command=sh&container=tomcat&stdin=true&stdout=true&tty=true"
    pairs = parse_qsl(urlsplit(curl["requestURI"]).query)
    assert [v for k, v in pairs if k == "command"] == list(POD_CURL.args)
    assert [k for k, _ in pairs if k != "command"] == ["container", "stderr", "stdout"]
    assert "requestObject" not in curl
    # the command's stream closes: same request, last stage, with the long-request latency
    assert curl_done["auditID"] == curl["auditID"]
    assert curl_done["requestReceivedTimestamp"] == curl["requestReceivedTimestamp"]
    assert curl_done["stageTimestamp"] > curl["stageTimestamp"]
    assert curl_done["responseStatus"] == curl["responseStatus"]
    assert re.match(r"^\d+\.\d+s$", curl_done["annotations"]["apiserver.latency.k8s.io/total"])
    assert "apiserver.latency.k8s.io/total" not in curl["annotations"]


def test_go_duration() -> None:
    assert k8s.go_duration(timedelta(seconds=35, microseconds=683763)) == "35.683763s"
    assert k8s.go_duration(timedelta(microseconds=1150)) == "1.15ms"
    assert k8s.go_duration(timedelta(seconds=2)) == "2s"
    assert k8s.go_duration(timedelta(microseconds=7)) == "7µs"


def test_ampersands_and_angle_brackets_are_escaped_like_go() -> None:
    text = k8s.write(k8s_scenario())
    assert "&" not in text
    assert "\\u0026container=tomcat" in text
    assert k8s.encode({"a": "<b>&"}) == '{"a":"\\u003cb\\u003e\\u0026"}'


def test_read_back_gives_exact_fields(tmp_path: Path) -> None:
    rows, problems = read_back(tmp_path / "audit.log", k8s.write(k8s_scenario()), "k8s")
    assert problems.count == 0
    assert len(rows) == 3  # the exec's two stages are read once
    pod, shell, curl = rows
    assert pod["@timestamp"] == at(5)
    assert pod["event.category"] == ["process"]
    assert pod["event.type"] == ["start"]
    assert pod["event.outcome"] == "success"
    assert pod["process.args"] == list(XMRIG_ARGS)
    assert pod["process.name"] == "xmrig"
    assert pod["container.name"] == "tomcat"
    assert pod["container.image.name"] == "docker123321/tomcat"
    assert pod["container.image.tag"] == ["latest"]
    assert pod["process.env_vars"] == ["POOL=pool.minexmr.com:3333"]
    assert pod["user.name"] == SERVICE_ACCOUNT
    assert pod["source.ip"] == NODE.ip
    assert (pod["orchestrator.namespace"], pod["orchestrator.resource.type"]) == ("ci", "pods")
    assert pod["orchestrator.resource.name"] == POD_NAME
    assert shell["process.args"] == ["sh"]
    assert shell["orchestrator.resource.type"] == "pods/exec"
    assert curl["event.action"] == "exec"
    assert curl["process.args"] == list(POD_CURL.args)
    assert curl["process.command_line"] == " ".join(POD_CURL.args)
    assert curl["container.name"] == "tomcat"
    assert at(44.8) < curl["@timestamp"] < at(45)  # the request precedes the process


def test_steps_outside_kubernetes_give_nothing() -> None:
    assert k8s.write(docker_scenario()) == ""


def test_user_groups_andpull_policy() -> None:
    assert k8s.user_info("kubernetes-admin")["groups"] == [
        "kubeadm:cluster-admins",
        "system:authenticated",
    ]
    assert k8s.user_info("jdoe")["groups"] == ["system:authenticated"]
    assert k8s.pull_policy("nginx") == "Always"
    assert k8s.pull_policy("nginx:1.27") == "IfNotPresent"
    assert k8s.pull_policy("localhost:5000/app") == "Always"


def test_same_seed_same_text_other_seed_other_ids() -> None:
    assert k8s.write(k8s_scenario(7)) == k8s.write(k8s_scenario(7))
    same, other = _events(7), _events(8)
    assert [e["requestURI"] for e in same] == [e["requestURI"] for e in other]
    assert {e["auditID"] for e in same}.isdisjoint(e["auditID"] for e in other)
