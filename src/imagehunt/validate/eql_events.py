"""The ECS documents a user's EQL query runs over: each atomic test's emulated telemetry.

Tests that exist in ECS use the documents exactly as written (Elastic Defend shape). Test 4
exists only in CloudTrail: its records are read by imagehunt's CloudTrail reader and given
as ECS-named documents, which is close to, not the same as, Elastic's AWS integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from imagehunt.emulate.tests import TESTS
from imagehunt.sources.normalize import to_timestamp
from imagehunt.sources.sniff import read_rows
from imagehunt.validate.matrix import file_name, render


@dataclass(frozen=True)
class AtomicEvents:
    """One test's documents and which of them belong to the attack."""

    test: int
    fmt: str
    documents: tuple[dict[str, Any], ...]
    attack: frozenset[int]  # indexes of the attack's documents


def _row_document(row: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name, value in row.items():
        if value is None or value == [] or name.startswith("_"):
            continue
        doc[name] = value.isoformat() if isinstance(value, datetime) else value
    return doc


def atomic_test_events(seed: int, workdir: Path) -> list[AtomicEvents]:
    """Every test's documents: ECS where the test has it, else normalized rows."""
    out: list[AtomicEvents] = []
    for test in TESTS:
        fmt = "ecs" if "ecs" in test.formats else test.formats[0]
        scenario, text = render(test.number, fmt, seed)
        if fmt == "ecs":
            docs = [orjson.loads(line) for line in text.splitlines() if line.strip()]
        else:
            path = workdir / file_name(test.number, fmt)
            path.write_text(text, encoding="utf-8")
            rows, _ = read_rows(path, fmt)
            docs = [_row_document(r) for r in rows]
        attack = frozenset(
            i
            for i, doc in enumerate(docs)
            if scenario.is_attack_time(to_timestamp(doc.get("@timestamp")))
        )
        out.append(AtomicEvents(test.number, fmt, tuple(docs), attack))
    return out
