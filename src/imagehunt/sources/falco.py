"""Falco JSON alerts: one object per line (``json_output: true``, or forwarded by falcosidekick).

Every alert becomes one row with ``event.kind`` "alert" and the Falco rule in ``rule.name``.
The categories are only what the alert proves: an exec syscall (``execve``/``execveat``, or,
when ``evt.type`` is absent, a rule tagged ``process``/``shell`` with no file descriptor) is a
process start; ``connect``/``send*`` with a server address is an outbound connection;
``accept`` is an inbound one; file syscalls are ``file``; anything else has no category.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from imagehunt.sources.base import Head
from imagehunt.sources.files import MAX_LINE_BYTES, open_binary
from imagehunt.sources.normalize import ascii_int, from_epoch_nanoseconds, to_timestamp
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row
from imagehunt.sources.sysmon_fields import LINUX, basename

FORMAT = "falco"

EXEC_SYSCALLS = frozenset({"execve", "execveat"})
OUTBOUND_SYSCALLS = frozenset({"connect", "sendto", "sendmsg", "sendmmsg"})
INBOUND_SYSCALLS = frozenset({"accept", "accept4"})
FILE_SYSCALLS = frozenset(
    {
        "open",
        "openat",
        "openat2",
        "creat",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "mkdir",
        "mkdirat",
        "rmdir",
        "chmod",
        "fchmod",
        "fchmodat",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
    }
)
PROCESS_TAGS = frozenset({"process", "shell"})
NOT_A_CONTAINER = frozenset({"", "host", "<NA>"})
_ALERT_KEYS = ("output_fields", "rule", "priority")
_SNIFF_LINES = 10


# ---- sniffing ---------------------------------------------------------------------------------
def is_falco_alert(doc: dict[str, Any]) -> bool:
    """A JSON object with Falco's ``output_fields``, ``rule`` and ``priority``."""
    return all(key in doc for key in _ALERT_KEYS) and isinstance(doc["output_fields"], dict)


def sniff(head: Head) -> bool:
    """One of the first JSON lines is a Falco alert (text lines before it are allowed)."""
    for line in head.lines[:_SNIFF_LINES]:
        if not line.startswith(b"{"):
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        return isinstance(doc, dict) and is_falco_alert(doc)
    return False


# ---- values -----------------------------------------------------------------------------------
def alert_time(value: Any) -> datetime | None:
    """Falco ``time``: ISO 8601 with nanoseconds (cut to microseconds), or epoch nanoseconds."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return from_epoch_nanoseconds(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    nanoseconds = ascii_int(text)
    if nanoseconds is not None:
        return from_epoch_nanoseconds(nanoseconds)
    dot = text.find(".")
    if dot >= 0:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        text = text[: min(end, dot + 7)] + text[end:]
    return to_timestamp(text)


def _text(value: Any) -> str | None:
    """A meaningful text value: Falco writes ``<NA>`` for unknown fields."""
    if type(value) is str:
        return None if value in ("", "<NA>") else value
    if value is None or isinstance(value, dict | list):
        return None
    text = value if isinstance(value, str) else str(value)
    return None if text in ("", "<NA>") else text


def _path(value: Any) -> str | None:
    """An absolute executable path, else None (``proc.exe`` may be a relative argv[0])."""
    text = _text(value)
    return text if text is not None and text.startswith("/") else None


def split_fd_name(name: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """``fd.name`` of a socket, ``cip:cport->sip:sport``, as (cip, cport, sip, sport)."""
    if not name or "->" not in name:
        return None, None, None, None
    client, _, server = name.partition("->")
    cip, _, cport = client.rpartition(":")
    sip, _, sport = server.rpartition(":")
    return cip.strip("[]") or None, cport or None, sip.strip("[]") or None, sport or None


# ---- alert to row -----------------------------------------------------------------------------
def _process_values(fields: dict[str, Any]) -> dict[str, Any]:
    executable = _path(fields.get("proc.exepath")) or _path(fields.get("proc.exe"))
    parent_exe = _path(fields.get("proc.pexepath")) or _path(fields.get("proc.pexe"))
    cmdline = _text(fields.get("proc.cmdline"))
    return {
        "process.name": _text(fields.get("proc.name")) or basename(executable, LINUX),
        "process.executable": executable,
        "process.command_line": cmdline,
        "process.args": cmdline.split() if cmdline else None,
        "process.pid": fields.get("proc.pid"),
        "process.working_directory": _text(fields.get("proc.cwd")),
        "process.parent.pid": fields.get("proc.ppid"),
        "process.parent.name": _text(fields.get("proc.pname")) or basename(parent_exe, LINUX),
        "process.parent.executable": parent_exe,
        "process.parent.command_line": _text(fields.get("proc.pcmdline")),
        "user.name": _text(fields.get("user.name")),
        "user.id": _text(fields.get("user.uid")),
    }


def _container_values(fields: dict[str, Any]) -> dict[str, Any]:
    container_id = _text(fields.get("container.id"))
    if container_id in NOT_A_CONTAINER:
        return {}
    repository = _text(fields.get("container.image.repository"))
    tag = _text(fields.get("container.image.tag"))
    image = _text(fields.get("container.image"))
    if repository is None and image is not None:
        repository, tag = _split_image(image, tag)
    namespace = _text(fields.get("k8s.ns.name"))
    pod = _text(fields.get("k8s.pod.name"))
    return {
        "container.id": container_id,
        "container.name": _text(fields.get("container.name")),
        "container.image.name": repository,
        "container.image.tag": [tag] if tag else None,
        "container.runtime": _text(fields.get("container.type")),
        "orchestrator.type": "kubernetes" if namespace or pod else None,
        "orchestrator.namespace": namespace,
        "orchestrator.resource.type": "pods" if pod else None,
        "orchestrator.resource.name": pod,
    }


def _split_image(image: str, tag: str | None) -> tuple[str, str | None]:
    """``repo[:tag][@digest]`` -> (repo, tag)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], tag or name[colon + 1 :] or None
    return name, tag


def _network_values(fields: dict[str, Any], evt_type: str | None) -> dict[str, Any]:
    cip, cport, sip, sport = split_fd_name(_text(fields.get("fd.name")))
    server_ip = _text(fields.get("fd.sip")) or _text(fields.get("fd.rip")) or sip
    if server_ip is None:
        return {}
    proto = _text(fields.get("fd.l4proto"))
    inbound = evt_type in INBOUND_SYSCALLS
    return {
        "event.category": ["network"],
        "event.type": ["connection", "start"],
        "network.direction": "ingress" if inbound else "egress",
        "network.transport": proto.lower() if proto else None,
        "source.ip": _text(fields.get("fd.cip")) or cip,
        "source.port": fields.get("fd.cport") or cport,
        "destination.ip": server_ip,
        "destination.port": fields.get("fd.sport") or fields.get("fd.rport") or sport,
    }


def _category_values(fields: dict[str, Any], tags: Any) -> dict[str, Any]:
    evt_type = _text(fields.get("evt.type"))
    if evt_type in EXEC_SYSCALLS:
        return {"event.category": ["process"], "event.type": ["start"]}
    if evt_type in OUTBOUND_SYSCALLS or evt_type in INBOUND_SYSCALLS:
        return _network_values(fields, evt_type)
    if evt_type in FILE_SYSCALLS:
        return {"event.category": ["file"]}
    if evt_type is None and _spawn_without_syscall(fields, tags):
        return {"event.category": ["process"], "event.type": ["start"]}
    return {}


def _spawn_without_syscall(fields: dict[str, Any], tags: Any) -> bool:
    """An alert without ``evt.type`` about a process (tagged process/shell, no fd)."""
    if not isinstance(tags, list) or "proc.name" not in fields or "fd.name" in fields:
        return False
    return any(isinstance(tag, str) and tag in PROCESS_TAGS for tag in tags)


def alert_values(doc: dict[str, Any]) -> dict[str, Any]:
    """Row values of one Falco alert."""
    fields: dict[str, Any] = doc["output_fields"]
    values: dict[str, Any] = {
        "@timestamp": alert_time(doc.get("time"))
        or alert_time(fields.get("evt.time.iso8601"))
        or alert_time(fields.get("evt.time")),
        "event.kind": "alert",
        "event.id": _text(doc.get("uuid")),
        "event.action": _text(fields.get("evt.type")),
        "event.module": "falco",
        "event.dataset": "falco.alerts",
        "event.provider": _text(doc.get("source")),
        "rule.name": _text(doc.get("rule")),
        "observer.product": "falco",
        "host.name": _text(doc.get("hostname")),
    }
    values.update(_process_values(fields))
    values.update(_container_values(fields))
    values.update(_category_values(fields, doc.get("tags")))
    return values


# ---- reading ----------------------------------------------------------------------------------
def _line_row(
    raw: bytes, number: int, display: str, problems: ReadProblems
) -> dict[str, Any] | None:
    if len(raw) > MAX_LINE_BYTES:
        problems.add(number, f"line longer than {MAX_LINE_BYTES} bytes")
        return None
    text = raw.strip()
    if not text:
        return None
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        problems.add(number, f"not a JSON alert: {exc}")
        return None
    if not isinstance(doc, dict) or not is_falco_alert(doc):
        problems.add(number, "JSON without Falco's output_fields, rule and priority")
        return None
    return make_row(alert_values(doc), display, number, FORMAT)


def _rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    with open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            row = _line_row(raw, number, display, problems)
            if row is not None:
                yield row


def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized batches of every Falco alert; other lines are counted problems."""
    return batches(_rows(path, display, problems))
