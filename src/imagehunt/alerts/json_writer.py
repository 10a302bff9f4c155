"""Single JSON document writer: the pack version, every alert, and counts by level, rule, host."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imagehunt.alerts.encode import dumps
from imagehunt.alerts.model import Alert
from imagehunt.alerts.summary import count_by_host, count_by_level, count_by_rule


def json_document(alerts: Sequence[Alert], *, pack_version: str) -> dict[str, Any]:
    """The document as a dict: ``pack_version``, ``alerts`` (contract objects), ``summary``."""
    return {
        "pack_version": pack_version,
        "alerts": [alert.to_json() for alert in alerts],
        "summary": {
            "total": len(alerts),
            "by_level": count_by_level(alerts),
            "by_rule": count_by_rule(alerts),
            "by_host": count_by_host(alerts),
        },
    }


def render_json(alerts: Sequence[Alert], *, pack_version: str) -> str:
    """The document as 2-space indented JSON text ending in a newline."""
    return dumps(json_document(alerts, pack_version=pack_version), pretty=True) + "\n"
