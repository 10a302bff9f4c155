"""JSON Lines writer: one alert contract object (DESIGN.md §4) per line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from imagehunt.alerts.encode import dumps
from imagehunt.alerts.model import Alert


def render_jsonl(alerts: Iterable[Alert]) -> Iterator[str]:
    """Yield each alert's ``to_json()`` object as compact JSON ending in ``\\n``."""
    for alert in alerts:
        yield dumps(alert.to_json()) + "\n"
