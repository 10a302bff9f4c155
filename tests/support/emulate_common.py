"""What the hand-built writer scenarios share: the scenario shape, the clock, read-back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from imagehunt.emulate.steps import Step
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.sniff import read_rows, sniff

T0 = datetime(2026, 11, 20, 9, 14, 7, 412000, tzinfo=UTC)


@dataclass(frozen=True)
class Scenario:
    """The writers' view of a scenario (the real one lives in emulate/scenario.py)."""

    seed: int
    steps: tuple[Step, ...]


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def read_back(path: Path, text: str, fmt: str) -> tuple[list[dict[str, Any]], ReadProblems]:
    """Write ``text`` to ``path``, check the sniffer names ``fmt``, read it with that reader."""
    path.write_text(text, encoding="utf-8")
    sniffed, reason = sniff(path)
    assert sniffed == fmt, reason
    return read_rows(path, fmt)
