"""Kubernetes API server audit log: one ``audit.k8s.io`` Event per line (the log backend).

A request is written once per stage (RequestReceived, ResponseStarted, ResponseComplete,
Panic) under the same ``auditID``; it is read once, at the first stage the file holds (the
last ``RECENT_AUDIT_IDS`` ids are remembered), so detections are not doubled.

Pod creations and workload objects with a pod template give one row per container (image,
entry command, environment); ``pods/exec`` gives a process start from the ``command``
parameters of the request URI; every other request gives one row of the generic fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pyarrow as pa

from imagehunt.sources.base import Head
from imagehunt.sources.container_logs import RecentKeys, json_lines, process_fields, split_image
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row

FORMAT = "k8s"
RECENT_AUDIT_IDS = 1_000_000
MAX_QUERY_PARAMETERS = 10_000

_POD_TEMPLATE_RESOURCES = frozenset(
    {"deployments", "daemonsets", "statefulsets", "replicasets", "jobs", "replicationcontrollers"}
)
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_EVENT_TYPES = {
    "create": "creation",
    "delete": "deletion",
    "deletecollection": "deletion",
    "update": "change",
    "patch": "change",
    "get": "access",
    "list": "access",
    "watch": "access",
}
_VALUE_REFS = ("secretKeyRef", "configMapKeyRef")


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# ---- sniffing ---------------------------------------------------------------------------------
def is_audit_event(doc: dict[str, Any]) -> bool:
    """True for an audit.k8s.io Event (or EventList), or a line with auditID, stage and verb."""
    version = doc.get("apiVersion")
    if isinstance(version, str) and version.startswith("audit.k8s.io/"):
        return doc.get("kind") in ("Event", "EventList")
    return all(isinstance(doc.get(key), str) for key in ("auditID", "stage", "verb"))


def sniff(head: Head) -> bool:
    """Kubernetes audit events, one JSON object per line."""
    doc = head.first_json
    return doc is not None and is_audit_event(doc)


# ---- reading ----------------------------------------------------------------------------------
def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized rows of every audit request (once per auditID); bad lines go to ``problems``."""
    return batches(_rows(path, display, problems))


def _rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    recent = RecentKeys(RECENT_AUDIT_IDS)
    for line, doc in json_lines(path, problems):
        if not isinstance(doc, dict) or not is_audit_event(doc):
            problems.add(line, "not a Kubernetes audit event")
            continue
        events = _list(doc.get("items")) if doc.get("kind") == "EventList" else [doc]
        for event in events:
            if not isinstance(event, dict):
                problems.add(line, "audit EventList item is not an object")
                continue
            audit_id = event.get("auditID")
            if isinstance(audit_id, str) and recent.seen(audit_id):
                continue
            for values in event_rows(event):
                yield make_row(values, display, line, FORMAT)


def outcome(event: dict[str, Any]) -> str | None:
    """success / failure from ``responseStatus.code`` (failure for a Panic); None if unknown."""
    if event.get("stage") == "Panic":
        return "failure"
    code = _dict(event.get("responseStatus")).get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        return None
    return "success" if code < 400 else "failure"


def generic_values(event: dict[str, Any]) -> dict[str, Any]:
    """Fields every audit event has: who, from where, what verb on which object, outcome."""
    ref = _dict(event.get("objectRef"))
    resource = _text(ref.get("resource"))
    subresource = _text(ref.get("subresource"))
    verb = _text(event.get("verb"))
    source_ips = _list(event.get("sourceIPs"))
    return {
        "@timestamp": event.get("requestReceivedTimestamp") or event.get("stageTimestamp"),
        "event.id": event.get("auditID"),
        "event.kind": "event",
        "event.module": "kubernetes",
        "event.dataset": "kubernetes.audit",
        "event.action": verb,
        "event.category": ["api"],
        "event.type": [_EVENT_TYPES.get(verb or "", "info")],
        "event.outcome": outcome(event),
        "user.name": _dict(event.get("user")).get("username"),
        "source.ip": source_ips[0] if source_ips else None,
        "user_agent.original": event.get("userAgent"),
        "orchestrator.type": "kubernetes",
        "orchestrator.namespace": ref.get("namespace"),
        "orchestrator.resource.type": (
            f"{resource}/{subresource}" if resource and subresource else resource or subresource
        ),
        "orchestrator.resource.name": ref.get("name"),
    }


def event_rows(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Schema values of one audit event: per container, an exec, or the generic row."""
    base = generic_values(event)
    ref = _dict(event.get("objectRef"))
    resource, subresource = ref.get("resource"), ref.get("subresource")
    if resource == "pods" and subresource == "exec":
        return [exec_values(base, event)]
    spec = pod_spec(event, resource, subresource)
    containers = [
        c for key in _CONTAINER_LISTS for c in _list(spec.get(key)) if isinstance(c, dict)
    ]
    if not containers:
        return [base]
    start_type = "start" if event.get("verb") == "create" else "change"
    return [container_values(base, c, start_type) for c in containers]


# ---- exec -------------------------------------------------------------------------------------
def exec_values(base: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Process start of ``kubectl exec``: the command and container from the request URI."""
    uri = event.get("requestURI")
    query = uri.partition("?")[2] if isinstance(uri, str) else ""
    pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_QUERY_PARAMETERS)
    command = [value for key, value in pairs if key == "command"]
    container = next((value for key, value in pairs if key == "container"), None)
    values = {**base, **process_fields(command)}
    values["event.action"] = "exec"
    values["event.category"], values["event.type"] = ["process"], ["start"]
    values["container.name"] = container or None
    return values


# ---- pod specs --------------------------------------------------------------------------------
def pod_spec(event: dict[str, Any], resource: object, subresource: object) -> dict[str, Any]:
    """The pod spec an event's request object carries, or {}.

    The response object is not used: for a patch it holds every container of the object,
    which would turn a label change into container rows.
    """
    if event.get("verb") not in ("create", "update", "patch"):
        return {}
    return _spec_of(_dict(event.get("requestObject")), resource, subresource)


def _spec_of(obj: dict[str, Any], resource: object, subresource: object) -> dict[str, Any]:
    spec = _dict(obj.get("spec"))
    if resource == "pods" and subresource in (None, "", "ephemeralcontainers"):
        return spec
    if subresource:
        return {}
    if resource in _POD_TEMPLATE_RESOURCES:
        return _dict(_dict(spec.get("template")).get("spec"))
    if resource == "cronjobs":
        job = _dict(_dict(spec.get("jobTemplate")).get("spec"))
        return _dict(_dict(job.get("template")).get("spec"))
    return {}


def env_vars(container: dict[str, Any]) -> list[str]:
    """``NAME=value`` of a container's ``env``; references read as ``NAME=<secretKeyRef:s/k>``."""
    found: list[str] = []
    for item in _list(container.get("env")):
        entry = _dict(item)
        name = _text(entry.get("name"))
        if name is None:
            continue
        value = entry.get("value")
        if isinstance(value, str):
            found.append(f"{name}={value}")
        elif "valueFrom" in entry:
            found.append(f"{name}=<{_value_source(_dict(entry.get('valueFrom')))}>")
        else:
            found.append(f"{name}=")
    return found


def _value_source(source: dict[str, Any]) -> str:
    for kind in _VALUE_REFS:
        ref = _dict(source.get(kind))
        if ref:
            return f"{kind}:{ref.get('name', '')}/{ref.get('key', '')}"
    field_ref = _dict(source.get("fieldRef"))
    if field_ref:
        return f"fieldRef:{field_ref.get('fieldPath', '')}"
    resource_ref = _dict(source.get("resourceFieldRef"))
    if resource_ref:
        return f"resourceFieldRef:{resource_ref.get('resource', '')}"
    return "valueFrom"


def container_values(
    base: dict[str, Any], container: dict[str, Any], start_type: str
) -> dict[str, Any]:
    """One container of a pod spec: its image, name, entry command and environment."""
    args = [a for a in _list(container.get("command")) + _list(container.get("args")) if a]
    values = {**base, **process_fields([a for a in args if isinstance(a, str)])}
    values["event.category"], values["event.type"] = ["process"], [start_type]
    values["container.name"] = container.get("name")
    name, tag = split_image(container.get("image"))
    values["container.image.name"] = name
    values["container.image.tag"] = [tag] if tag else None
    values["process.env_vars"] = env_vars(container) or None
    values["process.working_directory"] = container.get("workingDir")
    return values
