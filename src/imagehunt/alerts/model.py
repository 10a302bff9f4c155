"""The Alert value: what every engine and the image inspector emit, and what writers render.

Its JSON form is the contract of DESIGN.md §4; fields may be added, none renamed or removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LEVELS: tuple[str, ...] = ("informational", "low", "medium", "high", "critical")


def level_rank(level: str) -> int:
    """Position of a Sigma level in LEVELS (informational=0 … critical=4)."""
    return LEVELS.index(level)


@dataclass(frozen=True)
class RuleRef:
    """The rule an alert comes from."""

    id: str
    name: str
    title: str
    level: str
    branch: str
    tags: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "level": self.level,
            "branch": self.branch,
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class Evidence:
    """Where an alert's event is: file, exact 1-based line, the event's own id and format."""

    file: str
    line: int
    format: str
    event_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "event_id": self.event_id,
            "format": self.format,
        }


@dataclass(frozen=True)
class Alert:
    """One detection. ``fields`` holds the evidence event's non-empty normalized fields."""

    rule: RuleRef
    timestamp: datetime | None
    pack_version: str
    summary: str
    evidence: tuple[Evidence, ...]
    fields: Mapping[str, Any] = field(default_factory=dict)
    host_name: str | None = None
    container_id: str | None = None
    container_image: str | None = None
    suppress_hint: str = ""

    @property
    def id(self) -> str:
        """Stable id: the same rule on the same evidence always gives the same id."""
        digest = hashlib.sha256()
        digest.update(self.rule.id.encode())
        for ev in self.evidence:
            digest.update(f"\0{ev.file}\0{ev.line}\0{ev.event_id or ''}".encode())
        return digest.hexdigest()[:32]

    @property
    def level(self) -> str:
        return self.rule.level

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the alert contract."""
        doc: dict[str, Any] = {
            "id": self.id,
            "@timestamp": _iso(self.timestamp),
            "pack_version": self.pack_version,
            "rule": self.rule.to_json(),
            "host": {"name": self.host_name},
        }
        if self.container_id or self.container_image:
            doc["container"] = {"id": self.container_id, "image": {"name": self.container_image}}
        doc["summary"] = self.summary
        doc["evidence"] = [ev.to_json() for ev in self.evidence]
        doc["fields"] = dict(self.fields)
        doc["suppress_hint"] = self.suppress_hint
        return doc


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    text = ts.isoformat()
    return text.replace("+00:00", "Z")
