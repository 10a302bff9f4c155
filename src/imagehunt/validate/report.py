"""Render a coverage matrix: a terminal table, JSON for machines, an HTML page, Markdown."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from imagehunt.validate.matrix import Cell, Matrix

BASELINE_NOTE = (
    "Baselines: the seeds' QRadar AQL and Elastic EQL, ported with their defects "
    "(imagehunt/baselines/). The EQL as written does not parse (`nor`); the intended column "
    "reads its three blocks as separate queries with Elasticsearch semantics. The AQL only "
    "sees log source types 12 (Windows), 347 (CloudTrail) and 433 (Linux OS)."
)
SETUP_NOTE = (
    "Scanned with the emulated organisation's config (imagehunt/emulate/environment.py): "
    "Amazon and the organisation's own account are trusted image owners."
)


def _fired(cell: Cell) -> str:
    return ", ".join(f"{rule} ({level})" for rule, level in cell.fired) or "-"


def _status(cell: Cell) -> str:
    if cell.detected:
        return "detected"
    return "MISSED: " + ", ".join(cell.missing)


def _header(seed: int, eql_error: str) -> list[str]:
    return [
        f"Seed {seed}. {SETUP_NOTE}",
        BASELINE_NOTE,
        f"Seed EQL parse error: {eql_error}",
    ]


def print_table(matrix: Matrix, console: Console, eql_error: str) -> None:
    """The matrix as a rich table, one row per test × format."""
    table = Table(title="imagehunt coverage of the T1204.003 atomic tests", show_lines=True)
    for column in (
        "test",
        "format",
        "result",
        "rules fired",
        "first evidence",
        "seed AQL",
        "seed EQL as written",
        "seed EQL (intended)",
    ):
        table.add_column(column, overflow="fold")
    for cell in matrix.cells:
        evidence = cell.evidence + (f"\n({cell.note})" if cell.note else "")
        table.add_row(
            str(cell.test),
            cell.fmt,
            _status(cell),
            _fired(cell),
            evidence or "-",
            cell.baselines.aql,
            cell.baselines.eql_as_written,
            cell.baselines.eql_intended,
        )
    console.print(table)
    for line in _header(matrix.seed, eql_error):
        console.print(line, highlight=False, markup=False)


def to_json(matrix: Matrix, eql_error: str) -> str:
    """The matrix as one JSON document."""
    doc = {
        "seed": matrix.seed,
        "detected": not matrix.undetected,
        "seed_eql_parse_error": eql_error,
        "notes": [SETUP_NOTE, BASELINE_NOTE],
        "cells": [cell.to_json() for cell in matrix.cells],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _rows(cells: Sequence[Cell]) -> list[list[str]]:
    return [
        [
            str(c.test),
            c.fmt,
            _status(c),
            _fired(c),
            c.evidence,
            c.note,
            c.baselines.aql,
            c.baselines.eql_as_written,
            c.baselines.eql_intended,
        ]
        for c in cells
    ]


HEADINGS = (
    "test",
    "format",
    "result",
    "rules fired",
    "first evidence",
    "note",
    "seed AQL",
    "seed EQL as written",
    "seed EQL intended",
)


def to_html(matrix: Matrix, eql_error: str) -> str:
    """A self-contained HTML page of the matrix (every value escaped)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADINGS)
    body = []
    for cell, row in zip(matrix.cells, _rows(matrix.cells), strict=True):
        css = "ok" if cell.detected else "missed"
        tds = "".join(f"<td>{html.escape(v)}</td>" for v in row)
        body.append(f'<tr class="{css}">{tds}</tr>')
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in _header(matrix.seed, eql_error))
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        "<title>imagehunt coverage matrix</title><style>"
        "body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px;vertical-align:top;font-size:13px}"
        "tr.ok td:nth-child(3){background:#dfd}tr.missed td:nth-child(3){background:#fdd}"
        "</style></head><body><h1>imagehunt coverage of the T1204.003 atomic tests</h1>"
        f"{notes}<table><tr>{head}</tr>{''.join(body)}</table></body></html>\n"
    )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(matrix: Matrix, eql_error: str) -> str:
    """The matrix as a Markdown table (docs/validation.md)."""
    lines = [f"| {' | '.join(HEADINGS)} |", "|" + "---|" * len(HEADINGS)]
    for row in _rows(matrix.cells):
        lines.append("| " + " | ".join(_md(v) if v else "-" for v in row) + " |")
    notes = [f"- {_md(n)}" for n in _header(matrix.seed, eql_error)]
    return "\n".join([*lines, "", *notes]) + "\n"
