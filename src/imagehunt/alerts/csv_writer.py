"""CSV writer with fixed columns, safe to open in a spreadsheet.

Rows end in ``\\r\\n`` (RFC 4180, what spreadsheets expect); values are quoted only when
needed (``QUOTE_MINIMAL``), so commas, quotes and newlines inside a value survive a CSV reader.
Any cell starting with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading ``'`` so that a
spreadsheet shows it as text instead of evaluating it as a formula. Files must be opened with
``newline=""`` so that the line endings are written unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from imagehunt.alerts.model import Alert

COLUMNS: tuple[str, ...] = (
    "id",
    "timestamp",
    "level",
    "rule_name",
    "rule_id",
    "branch",
    "host",
    "container_id",
    "container_image",
    "summary",
    "evidence_file",
    "evidence_line",
    "evidence_format",
    "event_id",
    "more_evidence",
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(cell: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would otherwise read as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def csv_row(alert: Alert) -> list[str]:
    """The alert's cells in ``COLUMNS`` order, already neutralized."""
    doc = alert.to_json()
    first = alert.evidence[0] if alert.evidence else None
    more = "; ".join(f"{ev.file}:{ev.line}" for ev in alert.evidence[1:])
    cells = [
        doc["id"],
        doc["@timestamp"],
        alert.level,
        alert.rule.name,
        alert.rule.id,
        alert.rule.branch,
        alert.host_name,
        alert.container_id,
        alert.container_image,
        alert.summary,
        first.file if first else None,
        str(first.line) if first else None,
        first.format if first else None,
        first.event_id if first else None,
        more,
    ]
    return [neutralize(cell) if cell else "" for cell in cells]


def render_csv(alerts: Iterable[Alert]) -> Iterator[str]:
    """Yield the header row, then one row per alert, each ending in ``\\r\\n``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield _drain(buffer)
    for alert in alerts:
        writer.writerow(csv_row(alert))
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
