"""Kubernetes API server audit log (log backend): one ``audit.k8s.io/v1`` Event per line.

The API server encodes each Event with Go's JSON encoder: fields in the order of the Event
type, compact, ``&``, ``<`` and ``>`` escaped as ``\\u0026``, ``\\u003c``, ``\\u003e``;
timestamps are ``MicroTime`` (RFC 3339, microseconds, ``Z``). The policy emulated logs pods
at level ``Request`` and omits the ``RequestReceived`` stage, a common choice.

* a container start with a pod name -> ``create`` of ``pods`` (``kubectl run``: request URI
  with ``fieldManager=kubectl-run``) at stage ``ResponseComplete``, code 201, ``requestObject``
  the Pod as the server decoded and defaulted it (image, command, env, ...);
* a process started in a Kubernetes container (runtime ``containerd``) that is neither the
  container's entry command nor a child of a process already seen there -> ``create`` of the
  ``pods/exec`` subresource (``kubectl exec``) with the command in the request URI's query,
  at stage ``ResponseStarted``, code 101 (the stream is upgraded), then ``ResponseComplete``
  when the command's stream closes, with the latency annotations the server adds to long
  requests; a lone shell (``kubectl exec -it``) is still open when the scenario ends, so it
  has no ``ResponseComplete``.

The API server sees no image pulls (the kubelet pulls), connections, DNS lookups or plain
Docker containers. The client address is the step host's address; a container without a
start step in the scenario is taken to be alone in a pod of its own name in ``default``.
The container's ``PATH`` comes from its image, so it is left out of the pod's ``env``.
Audit ids and pod uids come from the seeded generator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import orjson

from imagehunt.emulate.formats import ExecTracker, ScenarioLike, lines, seeded_random
from imagehunt.emulate.ids import uuid_from_bits
from imagehunt.emulate.steps import ContainerStart, Process, ProcessStart

FORMAT = "k8s"
KUBECTL_AGENT = "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625"
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
_ALWAYS_PULLED_TAG = "latest"
# environment the image provides rather than the pod spec (the step's env is the container's)
_IMAGE_ENV_PREFIXES = ("PATH=",)


@dataclass(frozen=True)
class _Pod:
    """Where a container runs and who created it."""

    name: str
    namespace: str
    container: str
    user: str


def micro_time(when: datetime) -> str:
    """``MicroTime`` text: ``2026-11-02T09:00:00.123456Z``."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode(event: dict[str, Any]) -> str:
    """Compact JSON with Go's default HTML escaping (and U+2028/U+2029 escaped)."""
    text = orjson.dumps(event).decode()
    for char, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def user_info(username: str) -> dict[str, Any]:
    """``user`` of an event: the name and the groups the authenticator gives it."""
    if username.startswith("system:serviceaccount:"):
        namespace = username.split(":")[2]
        groups = [
            "system:serviceaccounts",
            f"system:serviceaccounts:{namespace}",
            "system:authenticated",
        ]
    elif username == "kubernetes-admin":
        groups = ["kubeadm:cluster-admins", "system:authenticated"]
    else:
        groups = ["system:authenticated"]
    return {"username": username, "groups": groups}


def rbac_reason(username: str, namespace: str) -> str:
    """The RBAC authorizer's reason: the binding that allowed the request."""
    if username == "kubernetes-admin":
        group = "kubeadm:cluster-admins"
        return (
            f'RBAC: allowed by ClusterRoleBinding "{group}" of ClusterRole "cluster-admin"'
            f' to Group "{group}"'
        )
    return (
        f'RBAC: allowed by RoleBinding "{username}-edit/{namespace}" of ClusterRole "edit"'
        f' to User "{username}"'
    )


def pull_policy(image: str) -> str:
    """The default ``imagePullPolicy``: Always for ``:latest`` or no tag, else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    slash, colon = image.rfind("/"), image.rfind(":")
    tag = image[colon + 1 :] if colon > slash else _ALWAYS_PULLED_TAG
    return "Always" if tag == _ALWAYS_PULLED_TAG else "IfNotPresent"


def pod_object(step: ContainerStart) -> dict[str, Any]:
    """The Pod ``kubectl run`` sends, as the API server decodes and defaults it."""
    container: dict[str, Any] = {"name": step.container.name, "image": step.container.image}
    if step.command:
        container["command"] = list(step.command)
    env = [
        entry.partition("=")
        for entry in step.container.env
        if not entry.startswith(_IMAGE_ENV_PREFIXES)
    ]
    if env:
        container["env"] = [{"name": name, "value": value} for name, _, value in env]
    container |= {
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": pull_policy(step.container.image),
    }
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": step.pod,
            "namespace": step.namespace,
            "creationTimestamp": None,
            "labels": {"run": step.pod},
        },
        "spec": {
            "containers": [container],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {},
    }


def is_interactive(process: Process) -> bool:
    """A lone shell is run with ``kubectl exec -it``; anything else without a terminal."""
    return len(process.args) == 1 and process.name in _SHELLS


def go_duration(span: timedelta) -> str:
    """A duration as Go's ``time.Duration.String`` writes it (``35.6837s``, ``1.150272ms``)."""
    nanos = (span.days * 86_400 + span.seconds) * 10**9 + span.microseconds * 1000
    for unit, size in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if nanos >= size:
            whole, rest = divmod(nanos, size)
            digits = len(str(size)) - 1
            fraction = f"{rest:0{digits}d}".rstrip("0")
            return f"{whole}.{fraction}{unit}" if fraction else f"{whole}{unit}"
    return f"{nanos}ns"


def exec_query(process: Process, container: str) -> str:
    """The query kubectl exec sends: PodExecOptions as sorted, form-encoded parameters."""
    interactive = is_interactive(process)
    pairs = [("command", arg) for arg in process.args] + [("container", container)]
    if interactive:
        pairs += [("stdin", "true"), ("stdout", "true"), ("tty", "true")]
    else:
        pairs += [("stderr", "true"), ("stdout", "true")]
    return "&".join(f"{key}={quote_plus(value)}" for key, value in pairs)


class _Writer:
    """State of one output: the generator, the pods known and the events written."""

    def __init__(self, scenario: ScenarioLike) -> None:
        self.random: random.Random = seeded_random(scenario, FORMAT)
        self.events: list[tuple[datetime, int, str]] = []
        self.pods: dict[str, _Pod] = {}
        self.execs = ExecTracker(scenario.steps, "containerd")
        for step in scenario.steps:
            if isinstance(step, ContainerStart) and step.pod:
                container = step.container
                self.pods[container.id] = _Pod(step.pod, step.namespace, container.name, step.user)

    def _emit(self, written: datetime, event: dict[str, Any]) -> None:
        """Queue an event; the log is in the order events are written (their stage time)."""
        self.events.append((written, len(self.events), encode(event)))

    def _envelope(
        self, stage: str, uri: str, user: str, source_ip: str, ref: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Request",
            "auditID": uuid_from_bits(self.random),
            "stage": stage,
            "requestURI": uri,
            "verb": "create",
            "user": user_info(user),
            "sourceIPs": [source_ip],
            "userAgent": KUBECTL_AGENT,
            "objectRef": ref,
        }

    def _latency(self, low_ms: float, high_ms: float) -> timedelta:
        return timedelta(microseconds=round(self.random.uniform(low_ms, high_ms) * 1000))

    def create_pod(self, step: ContainerStart) -> None:
        uri = f"/api/v1/namespaces/{step.namespace}/pods?fieldManager=kubectl-run"
        ref = {
            "resource": "pods",
            "namespace": step.namespace,
            "name": step.pod,
            "apiVersion": "v1",
        }
        event = self._envelope("ResponseComplete", uri, step.user, step.host.ip, ref)
        received = step.time
        event["responseStatus"] = {"metadata": {}, "code": 201}
        event["requestObject"] = pod_object(step)
        completed = received + self._latency(4, 25)
        event["requestReceivedTimestamp"] = micro_time(received)
        event["stageTimestamp"] = micro_time(completed)
        event["annotations"] = {
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": rbac_reason(step.user, step.namespace),
            "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
        }
        self._emit(completed, event)

    def process(self, step: ProcessStart) -> None:
        process = step.process
        container = process.container
        if container is None or not self.execs.is_exec(process):
            return
        pod = self.pods.get(container.id) or _Pod(
            container.name, "default", container.name, "kubernetes-admin"
        )
        path = f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/exec"
        uri = f"{path}?{exec_query(process, pod.container)}"
        ref = {
            "resource": "pods",
            "namespace": pod.namespace,
            "name": pod.name,
            "apiVersion": "v1",
            "subresource": "exec",
        }
        received = step.time - self._latency(30, 120)
        started = received + self._latency(10, 40)
        event = self._envelope("ResponseStarted", uri, pod.user, step.host.ip, ref)
        event["responseStatus"] = {"metadata": {}, "code": 101}
        event["requestReceivedTimestamp"] = micro_time(received)
        event["stageTimestamp"] = micro_time(started)
        authorization = {
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": rbac_reason(pod.user, pod.namespace),
        }
        event["annotations"] = authorization
        self._emit(started, event)
        if is_interactive(process):
            return  # the shell's stream is still open when the scenario ends
        ended = step.time + self._latency(300, 5000)
        latency = {
            "apiserver.latency.k8s.io/etcd": go_duration(self._latency(0.6, 2.5)),
            "apiserver.latency.k8s.io/total": go_duration(ended - received),
        }
        complete = {**event, "stage": "ResponseComplete", "stageTimestamp": micro_time(ended)}
        complete["annotations"] = latency | authorization
        self._emit(ended, complete)


def write(scenario: ScenarioLike) -> str:
    """The audit log lines of the scenario's Kubernetes API requests, in time order."""
    writer = _Writer(scenario)
    for step in scenario.steps:
        if isinstance(step, ContainerStart) and step.pod:
            writer.create_pod(step)
        elif isinstance(step, ProcessStart):
            writer.process(step)
    return lines([text for _, _, text in sorted(writer.events)])
