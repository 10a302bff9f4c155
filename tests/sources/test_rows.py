"""Rows and batches every source builds on: types, provenance, nothing lost on a break."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from imagehunt import schema
from imagehunt.sources.rows import batches, make_row


def test_values_are_converted_to_their_field_kinds() -> None:
    row = make_row(
        {
            "process.pid": "42",
            "destination.port": 3333.0,
            "process.name": 7,
            "process.args": ["curl", 1, None],
            "event.category": "process",
            "@timestamp": "2026-11-20T10:00:00Z",
            "source.port": 2**70,  # out of range: NULL for this field only
            "host.name": None,
        },
        "log.txt",
        12,
        "auditd",
    )
    assert row["process.pid"] == 42
    assert row["destination.port"] == 3333
    assert row["process.name"] == "7"
    assert row["process.args"] == ["curl", "1"]
    assert row["event.category"] == ["process"]
    assert row["@timestamp"] == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert row["source.port"] is None
    assert "host.name" not in row
    assert (row["_file"], row["_line"], row["_format"]) == ("log.txt", 12, "auditd")


def test_a_source_cannot_invent_a_field() -> None:
    with pytest.raises(KeyError):
        make_row({"process.nmae": "x"}, "f", 1, "auditd")


def test_batches_have_the_normalized_schema_and_size() -> None:
    rows = [make_row({"process.pid": i}, "f", i, "x") for i in range(1, 6)]
    got = list(batches(iter(rows), size=2))
    assert [b.num_rows for b in got] == [2, 2, 1]
    assert got[0].schema == schema.arrow_schema()
    assert [r["_line"] for b in got for r in b.to_pylist()] == [1, 2, 3, 4, 5]


def test_rows_read_before_a_break_are_kept() -> None:
    def broken() -> Iterator[dict[str, Any]]:
        yield make_row({"process.pid": 1}, "f", 1, "x")
        yield make_row({"process.pid": 2}, "f", 2, "x")
        raise EOFError("truncated")

    seen: list[int] = []
    with pytest.raises(EOFError):
        for batch in batches(broken(), size=10):
            seen += [r["_line"] for r in batch.to_pylist()]
    assert seen == [1, 2]
