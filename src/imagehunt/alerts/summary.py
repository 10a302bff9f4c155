"""Counts of alerts by level, rule and host, shared by the JSON document and the stderr summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from imagehunt.alerts.model import LEVELS, Alert

NO_HOST = "(no host)"


def count_by_level(alerts: Iterable[Alert]) -> dict[str, int]:
    """Alerts per level, every Sigma level present, most severe first; unknown levels last."""
    counts = Counter(alert.level for alert in alerts)
    result = {level: counts.pop(level, 0) for level in reversed(LEVELS)}
    result.update(sorted(counts.items()))
    return result


def count_by_rule(alerts: Iterable[Alert]) -> dict[str, int]:
    """Alerts per rule name, most frequent first, ties by name."""
    return _ranked(Counter(alert.rule.name for alert in alerts))


def where(alert: Alert) -> str:
    """The host, else the cloud account (``provider:account``), else ``NO_HOST``."""
    if alert.host_name:
        return alert.host_name
    account = alert.fields.get("cloud.account.id")
    if account:
        return f"{alert.fields.get('cloud.provider') or 'cloud'}:{account}"
    return NO_HOST


def count_by_host(alerts: Iterable[Alert]) -> dict[str, int]:
    """Alerts per host (or cloud account), most frequent first, ties by name."""
    return _ranked(Counter(where(alert) for alert in alerts))


def _ranked(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
