"""`imagehunt validate --eql FILE`: which atomic tests a user's own EQL query catches."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, TextIO

import click

from imagehunt.alerts.atomic import write_output
from imagehunt.errors import InputError
from imagehunt.validate.eql_events import AtomicEvents, atomic_test_events
from imagehunt.validate.user_eql import UserEqlReport, run_user_eql

MAX_QUERY_BYTES = 256 * 1024


def _read_query(path: Path) -> str:
    data = path.read_bytes()
    if len(data) > MAX_QUERY_BYTES:
        raise InputError(f"EQL file over {MAX_QUERY_BYTES} bytes", file=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"EQL file is not UTF-8: {exc}", file=str(path)) from None


def _summary(report: UserEqlReport, events: list[AtomicEvents]) -> list[dict[str, Any]]:
    rows = []
    for item in events:
        hit = set(report.result(str(item.test)).event_indexes)
        rows.append(
            {
                "test": item.test,
                "events_from": item.fmt,
                "caught": bool(hit & item.attack),
                "attack_events_matched": sorted(i + 1 for i in hit & item.attack),
                "benign_events_matched": sorted(i + 1 for i in hit - item.attack),
            }
        )
    return rows


def run_eql_command(path: Path, seed: int, fmt: str, output: Path | None) -> None:
    """Run the query in ``path`` over every test's emulated ECS events and report."""
    query = _read_query(path)
    with tempfile.TemporaryDirectory(prefix="imagehunt-eql-") as tmp:
        events = atomic_test_events(seed, Path(tmp))
    report = run_user_eql(query, {str(e.test): list(e.documents) for e in events}, source=str(path))
    rows = _summary(report, events)

    def write(handle: TextIO) -> None:
        if fmt == "json":
            doc = {
                "query_file": str(path),
                "syntax": report.syntax,
                "notes": list(report.notes),
                "tests": rows,
                "engine_differences": list(report.differences),
            }
            handle.write(json.dumps(doc, indent=2) + "\n")
            return
        handle.write(f"EQL query {path} ({report.syntax} syntax), seed {seed}\n")
        for row in rows:
            status = "caught" if row["caught"] else "not caught"
            line = f"  test {row['test']} ({row['events_from']} events): {status}"
            if row["attack_events_matched"]:
                line += f"; attack events {row['attack_events_matched']}"
            if row["benign_events_matched"]:
                line += f"; FALSE POSITIVES on benign events {row['benign_events_matched']}"
            handle.write(line + "\n")
        for note in report.notes:
            handle.write(f"note: {note}\n")
        handle.write("Known differences between the eql engine used here and Elasticsearch:\n")
        for difference in report.differences:
            handle.write(f"  - {difference}\n")

    write_output(output, write)
    caught = sum(1 for r in rows if r["caught"])
    click.echo(f"{caught} of {len(rows)} atomic tests caught by {path}", err=True)
