"""Malformed records of one input: counted, the first few kept with their line."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReadProblems:
    """Malformed records of one input: total count and the first reasons as (line, reason)."""

    count: int = 0
    first: list[tuple[int, str]] = field(default_factory=list)
    keep: int = 20

    def add(self, line: int, reason: str) -> None:
        """Count one malformed record at ``line`` (1-based) and keep its reason if early."""
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append((line, reason))
