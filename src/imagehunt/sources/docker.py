"""Docker: ``docker events --format '{{json .}}'`` output and dockerd's journald JSON export.

Events: one JSON message per line (``Type``, ``Action``, ``Actor``, ``time``, ``timeNano``; old
daemons only ``status``, ``id``, ``from``, ``time``). Container lifecycle rows are category
``host``, image rows ``package``, other objects ``configuration``: none of them is a process
start. Only ``exec_start: CMD`` is a process start; ``exec_create`` carries the same command
in its process fields but keeps category ``host`` (it precedes the start of the same exec, so
counting it too would double every detection).

Daemon log: ``journalctl -u docker -o json`` lines; ``MESSAGE`` holds dockerd's logfmt text
(``time=... level=info msg="image pulled" remote=...``), or an array of bytes when it is not
UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from imagehunt.sources.base import Head
from imagehunt.sources.container_logs import json_lines, process_fields, split_image
from imagehunt.sources.normalize import ascii_int, from_epoch_nanoseconds, message_text
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row

FORMAT = "docker"

DAEMON_IDENTIFIERS = frozenset({"dockerd", "docker"})
_IMAGE_ACTIONS = frozenset({"delete", "import", "load", "pull", "push", "save", "tag", "untag"})
_CONTAINER_START = frozenset({"start", "restart", "unpause"})
_CONTAINER_END = frozenset({"die", "stop", "kill", "oom", "destroy", "pause"})
_PROCESS_ACTION = "exec_start"
_EXEC_ACTIONS = frozenset({"exec_create", _PROCESS_ACTION})
_NANOS = 1_000_000_000
# Container and image actions of daemons that wrote only status/id/from/time (API < 1.22).
_OLD_STATUSES = (
    _IMAGE_ACTIONS
    | _CONTAINER_START
    | _CONTAINER_END
    | {
        "attach",
        "commit",
        "copy",
        "create",
        "detach",
        "exec_create",
        "exec_start",
        "export",
        "rename",
        "resize",
        "top",
        "update",
    }
)


# ---- sniffing ---------------------------------------------------------------------------------
def _is_event(doc: dict[str, Any]) -> bool:
    if isinstance(doc.get("Action"), str) and isinstance(doc.get("Actor"), dict):
        return isinstance(doc.get("Type"), str)
    status = doc.get("status")
    return (
        isinstance(status, str)
        and status.partition(":")[0] in _OLD_STATUSES
        and isinstance(doc.get("id"), str)
        and isinstance(doc.get("time"), int)
    )


def _is_daemon_journal(doc: dict[str, Any]) -> bool:
    return "__REALTIME_TIMESTAMP" in doc and (
        doc.get("SYSLOG_IDENTIFIER") in DAEMON_IDENTIFIERS or doc.get("_COMM") == "dockerd"
    )


def sniff(head: Head) -> bool:
    """Docker events JSON, or a journald JSON export with dockerd entries in its first lines."""
    doc = head.first_json
    if doc is None:
        return False
    if _is_event(doc):
        return True
    if "__REALTIME_TIMESTAMP" not in doc:
        return False
    return any(b'"dockerd"' in line and _line_is_daemon(line) for line in head.lines)


def _line_is_daemon(line: bytes) -> bool:
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and _is_daemon_journal(doc)


# ---- reading ----------------------------------------------------------------------------------
def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized rows of every Docker event or journald entry; bad lines go to ``problems``."""
    return batches(_rows(path, display, problems))


def _rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    for line, doc in json_lines(path, problems):
        if not isinstance(doc, dict):
            problems.add(line, "not a JSON object")
            continue
        if "__REALTIME_TIMESTAMP" in doc:
            values = journal_values(doc)
        elif isinstance(doc.get("Action"), str) or isinstance(doc.get("status"), str):
            values = event_values(doc)
        else:
            problems.add(line, "neither a Docker event (Action/status) nor a journald entry")
            continue
        yield make_row(values, display, line, FORMAT)


def event_time(doc: dict[str, Any]) -> datetime | None:
    """``timeNano`` (else ``time``, in seconds) as an aware UTC datetime."""
    nanos = doc.get("timeNano")
    if isinstance(nanos, int) and not isinstance(nanos, bool):
        return from_epoch_nanoseconds(nanos)
    seconds = doc.get("time")
    if isinstance(seconds, int) and not isinstance(seconds, bool):
        return from_epoch_nanoseconds(seconds * _NANOS)
    return None


def _object_type(doc: dict[str, Any], verb: str) -> str | None:
    declared = doc.get("Type")
    if isinstance(declared, str):
        return declared
    if doc.get("from") is not None:
        return "container"
    return "image" if verb in _IMAGE_ACTIONS else None


def _category(object_type: str | None, verb: str) -> tuple[str, str]:
    """(event.category, event.type) of a non-exec event: never a process start."""
    if object_type == "image":
        kind = {"pull": "installation", "load": "installation", "import": "installation"}
        return "package", kind.get(verb, "deletion" if verb == "delete" else "info")
    if object_type == "container":
        if verb in _CONTAINER_START:
            return "host", "start"
        return "host", "end" if verb in _CONTAINER_END else "info"
    return "configuration", "change"


def _attributes(doc: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    actor = doc.get("Actor")
    actor_id: Any = None
    attributes: Any = None
    if isinstance(actor, dict):
        actor_id, attributes = actor.get("ID"), actor.get("Attributes")
    if not isinstance(actor_id, str) or not actor_id:
        actor_id = doc.get("id") if isinstance(doc.get("id"), str) else None
    return actor_id, attributes if isinstance(attributes, dict) else {}


def event_values(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema values of one ``docker events`` JSON message."""
    action = doc.get("Action")
    if not isinstance(action, str):
        action = str(doc.get("status", ""))
    verb, _, detail = action.partition(": ")
    object_type = _object_type(doc, verb)
    actor_id, attributes = _attributes(doc)
    values: dict[str, Any] = {
        "@timestamp": event_time(doc),
        "event.kind": "event",
        "event.module": "docker",
        "event.dataset": "docker.events",
        "event.action": verb or None,
    }
    if object_type == "image":
        reference = actor_id if split_image(actor_id)[0] else attributes.get("name")
        _add_image(values, reference)
    elif object_type == "container":
        values["container.id"] = actor_id
        values["container.name"] = attributes.get("name")
        values["container.runtime"] = "docker"
        _add_image(values, attributes.get("image") or doc.get("from"))
    category, kind = _category(object_type, verb)
    if verb in _EXEC_ACTIONS and object_type == "container" and detail.strip():
        values.update(process_fields(detail.split(), detail.strip()))
        if verb == _PROCESS_ACTION:
            category, kind = "process", "start"
    values["event.category"], values["event.type"] = [category], [kind]
    return values


def _add_image(values: dict[str, Any], reference: object) -> None:
    name, tag = split_image(reference)
    if name is not None:
        values["container.image.name"] = name
        values["container.image.tag"] = [tag] if tag else None


# ---- dockerd journald entries -----------------------------------------------------------------
def logfmt(text: str) -> dict[str, str]:
    """``key=value`` pairs of a logfmt line (values may be double-quoted with ``\\`` escapes)."""
    pairs: dict[str, str] = {}
    pos, size = 0, len(text)
    while pos < size:
        while pos < size and text[pos] == " ":
            pos += 1
        equals = text.find("=", pos)
        space = text.find(" ", pos)
        if equals < 0 or (0 <= space < equals):
            if space < 0:
                break
            pos = space + 1
            continue
        key = text[pos:equals]
        pos = equals + 1
        if pos < size and text[pos] == '"':
            value, pos = _quoted(text, pos + 1)
        else:
            end = text.find(" ", pos)
            end = size if end < 0 else end
            value, pos = text[pos:end], end
        pairs[key] = value
    return pairs


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """Value of a quoted logfmt field starting after its opening quote, and the next position."""
    parts: list[str] = []
    while True:
        quote = text.find('"', pos)
        slash = text.find("\\", pos)
        if quote < 0:
            parts.append(text[pos:])
            return "".join(parts), len(text)
        if 0 <= slash < quote:
            parts.append(text[pos:slash])
            escaped = text[slash + 1 : slash + 2]
            parts.append({"n": "\n", "t": "\t"}.get(escaped, escaped))
            pos = slash + 2
            continue
        parts.append(text[pos:quote])
        return "".join(parts), quote + 1


def _journal_time(doc: dict[str, Any]) -> datetime | None:
    micros = doc.get("__REALTIME_TIMESTAMP")
    number = ascii_int(micros) if isinstance(micros, str) else None
    if number is not None:
        return from_epoch_nanoseconds(number * 1000)
    return None


def _is_container_id(text: str | None) -> bool:
    return text is not None and len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def journal_values(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema values of one journald entry; dockerd's logfmt message is read when present."""
    identifier = doc.get("SYSLOG_IDENTIFIER")
    daemon = identifier in DAEMON_IDENTIFIERS or doc.get("_COMM") == "dockerd"
    values: dict[str, Any] = {
        "@timestamp": _journal_time(doc),
        "event.kind": "event",
        "event.module": "docker" if daemon else "journald",
        "event.dataset": "docker.daemon" if daemon else "journald",
        "host.name": doc.get("_HOSTNAME"),
        "process.pid": doc.get("_PID"),
        "process.name": doc.get("_COMM") or identifier,
        "process.executable": doc.get("_EXE"),
        "user.id": doc.get("_UID"),
    }
    text = message_text(doc.get("MESSAGE")) if daemon else None
    if text is not None and "=" in text:
        _add_daemon_fields(values, logfmt(text))
    return values


def _add_daemon_fields(values: dict[str, Any], fields: dict[str, str]) -> None:
    """What dockerd's message says reliably: a finished pull and the container it names."""
    container = fields.get("container")
    if _is_container_id(container):
        values["container.id"] = container
        values["container.runtime"] = "docker"
    if fields.get("msg") == "image pulled" and "remote" in fields:
        _add_image(values, fields["remote"])
        values["event.action"] = "pull"
        values["event.category"], values["event.type"] = ["package"], ["installation"]
        values["event.outcome"] = "success"
