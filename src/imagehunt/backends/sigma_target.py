"""The `sigma` target: the pack's rules as portable Sigma YAML, indicator lists expanded.

What the seed called "the portable Sigma rule": every ``%list%`` placeholder is replaced by
the list's values (and ``|expand`` dropped), so any Sigma tool reads the rules without
imagehunt's pipeline. Field names stay ECS, logsources stay Sigma's.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from imagehunt.pipelines import placeholder_pipeline
from imagehunt.rulepack import PackRule, RulePack


def _without_expand(detection: Any) -> Any:
    """Detection items with the ``expand`` modifier removed from every field key."""
    if isinstance(detection, dict):
        return {
            "|".join(p for p in str(key).split("|") if p != "expand"): _without_expand(value)
            for key, value in detection.items()
        }
    if isinstance(detection, list):
        return [_without_expand(item) for item in detection]
    return detection


def portable_rule(rule: PackRule) -> dict[str, Any]:
    """The rule as a Sigma document with its placeholders expanded."""
    sigma = copy.deepcopy(rule.sigma)
    if not rule.is_correlation:
        placeholder_pipeline().apply(sigma)
    doc: dict[str, Any] = sigma.to_dict()
    logsource = doc.get("logsource")
    if isinstance(logsource, dict):
        logsource.pop("source", None)  # where pySigma read the file: not part of the rule
    if "detection" in doc:
        doc["detection"] = _without_expand(doc["detection"])
    correlation = doc.get("correlation")
    if isinstance(correlation, dict):
        # pySigma's to_dict drops `generate`, which decides whether the base rules alert
        correlation["generate"] = bool(getattr(sigma, "generate", False))
        if not correlation.get("aliases"):
            correlation.pop("aliases", None)
    return doc


def convert(rule: PackRule, pack: RulePack, fmt: str) -> str:
    """One YAML document (without the ``---`` separator)."""
    return yaml.safe_dump(portable_rule(rule), sort_keys=False, allow_unicode=True, width=100)
