"""SARIF 2.1.0 writer: one run, a rule per distinct alert rule, a result per alert.

Each result lists every evidence record as a location (correlated alerts have several), carries
``partialFingerprints["imagehunt/v1"]`` = the alert's stable id, and a property bag with the
Sigma level, timestamp, host, container, event fields and suppress hint of the alert contract.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from imagehunt import __version__
from imagehunt.alerts.encode import dumps
from imagehunt.alerts.model import Alert, Evidence, RuleRef

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

SARIF_LEVELS: dict[str, str] = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "informational": "note",
}

_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_URI_RESERVED = ":/?#[]@!$&'()*+,;=%~"


def sarif_level(level: str) -> str:
    """SARIF result level for a Sigma level (unknown levels count as ``warning``)."""
    return SARIF_LEVELS.get(level, "warning")


def artifact_uri(path: str) -> str:
    """A valid URI for an evidence file: relative reference, ``file://`` URI, or kept URI.

    Relative paths stay relative (percent-encoded); absolute POSIX and Windows paths become
    ``file://`` URIs; a path that already is a URI only gets unsafe characters encoded.
    """
    if _WINDOWS_PATH.match(path):
        return PureWindowsPath(path).as_uri()
    if path.startswith("/"):
        return PurePosixPath(path).as_uri()
    if _HAS_SCHEME.match(path):
        return quote(path, safe=_URI_RESERVED)
    return quote(path, safe="/")


def sarif_log(
    alerts: Sequence[Alert], *, pack_version: str, tool_version: str = __version__
) -> dict[str, Any]:
    """The SARIF log as a dict."""
    rules = _distinct_rules(alerts)
    index = {rule.id: i for i, rule in enumerate(rules)}
    driver = {
        "name": "imagehunt",
        "version": tool_version,
        "properties": {"pack_version": pack_version},
        "rules": [_rule(rule) for rule in rules],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": driver},
                "results": [_result(alert, index[alert.rule.id]) for alert in alerts],
            }
        ],
    }


def render_sarif(
    alerts: Sequence[Alert], *, pack_version: str, tool_version: str = __version__
) -> str:
    """The SARIF log as 2-space indented JSON text ending in a newline."""
    log = sarif_log(alerts, pack_version=pack_version, tool_version=tool_version)
    return dumps(log, pretty=True) + "\n"


def _distinct_rules(alerts: Sequence[Alert]) -> list[RuleRef]:
    seen: dict[str, RuleRef] = {}
    for alert in alerts:
        seen.setdefault(alert.rule.id, alert.rule)
    return sorted(seen.values(), key=lambda rule: (rule.name, rule.id))


def _rule(rule: RuleRef) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "defaultConfiguration": {"level": sarif_level(rule.level)},
        "properties": {"tags": list(rule.tags), "level": rule.level, "branch": rule.branch},
    }


def _result(alert: Alert, rule_index: int) -> dict[str, Any]:
    doc = alert.to_json()
    properties: dict[str, Any] = {
        "level": alert.level,
        "timestamp": doc["@timestamp"],
        "pack_version": alert.pack_version,
        "host": doc["host"],
    }
    if "container" in doc:
        properties["container"] = doc["container"]
    properties["evidence"] = doc["evidence"]
    properties["fields"] = doc["fields"]
    properties["suppress_hint"] = alert.suppress_hint
    return {
        "ruleId": alert.rule.id,
        "ruleIndex": rule_index,
        "level": sarif_level(alert.level),
        "message": {"text": alert.summary},
        "locations": [_location(ev) for ev in alert.evidence],
        "partialFingerprints": {"imagehunt/v1": doc["id"]},
        "properties": properties,
    }


def _location(evidence: Evidence) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(evidence.file)}}
    if evidence.line >= 1:
        physical["region"] = {"startLine": evidence.line}
    return {"physicalLocation": physical}
