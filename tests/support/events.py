"""Small builders of ECS events for engine tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MINER = {
    "@timestamp": "2026-11-20T10:00:00Z",
    "event": {"category": ["process"], "type": ["start"], "id": "m1"},
    "host": {"name": "h1"},
    "process": {
        "name": "xmrig",
        "pid": 10,
        "entity_id": "e10",
        "command_line": "xmrig -o pool.supportxmr.com:443",
    },
}
BENIGN = {
    "@timestamp": "2026-11-20T10:00:00Z",
    "event": {"category": ["process"], "type": ["start"]},
    "host": {"name": "h1"},
    "process": {"name": "bash", "pid": 11, "command_line": "bash -c true"},
}


def event(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Copy of ``base`` with dotted-path changes applied (nested keys created)."""
    doc = json.loads(json.dumps(base))
    for dotted, value in changes.items():
        keys = dotted.replace("__", ".").split(".")
        node = doc
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return doc


def write_lines(path: Path, lines: list[str | dict[str, Any]]) -> Path:
    """Write NDJSON: dicts are dumped, strings written as they are."""
    path.write_text(
        "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path
