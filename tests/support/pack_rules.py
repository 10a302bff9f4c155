"""A throw-away pack rule around a detection, for backend tests that convert one case."""

from __future__ import annotations

from typing import Any

from sigma.rule import SigmaRule

from imagehunt.alerts.model import RuleRef
from imagehunt.rulepack import PackRule


def pack_rule(detection: dict[str, Any], category: str = "process_creation") -> PackRule:
    """A user (not built-in) rule ``t`` of log source ``category`` with this detection."""
    sigma = SigmaRule.from_dict(
        {
            "title": "t",
            "id": "5f0c4a52-5a47-4b6f-9a3f-0d7f1f0e9a11",
            "logsource": {"category": category},
            "detection": detection,
        }
    )
    ref = RuleRef(id="x", name="t", title="t", level="high", branch="b", tags=())
    return PackRule(
        sigma=sigma,
        ref=ref,
        description="",
        falsepositives=(),
        investigation_guide="",
        response_playbook="",
        path="t.yml",
        line=1,
        builtin=False,
    )
