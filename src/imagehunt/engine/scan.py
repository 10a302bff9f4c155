"""Run the compiled pack over inputs in one DuckDB pass per file, then correlate.

All detection rules are evaluated in a single query per input (one WHERE with every rule, a
list of the rules each matching row satisfies); only matching rows leave DuckDB.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from imagehunt import schema
from imagehunt.backends.duckdb import sql_identifier, sql_string
from imagehunt.engine.compile import CompiledRule
from imagehunt.sources import ecs
from imagehunt.sources.ecs import ReadProblems
from imagehunt.sources.inputs import Input

FAST_PATH_MIN_BYTES = 1 << 20
CHUNK_BYTES = 16 << 20
_BLANK_MARKERS = (b"\n\n", b"\n\r", b"\n ", b"\n\t")
OUTPUT_COLUMNS = (*schema.FIELD_NAMES, schema.FILE_COLUMN, schema.LINE_COLUMN, schema.FORMAT_COLUMN)


@dataclass(frozen=True)
class MatchedEvent:
    """A normalized event that matched at least one rule, with the indexes of those rules."""

    fields: dict[str, Any]
    rule_indexes: tuple[int, ...]

    @property
    def file(self) -> str:
        return str(self.fields[schema.FILE_COLUMN])

    @property
    def line(self) -> int:
        return int(self.fields[schema.LINE_COLUMN])

    @property
    def format(self) -> str:
        return str(self.fields[schema.FORMAT_COLUMN])

    @property
    def timestamp(self) -> datetime | None:
        value = self.fields.get("@timestamp")
        return value if isinstance(value, datetime) else None


@dataclass
class InputReport:
    """What happened to one input: format, events read, how, malformed records."""

    display: str
    format: str | None
    events: int = 0
    path_taken: str = ""
    problems: ReadProblems = field(default_factory=ReadProblems)
    skipped_reason: str = ""


@dataclass(frozen=True)
class TimeWindow:
    """Optional bounds on @timestamp (inclusive since, exclusive until)."""

    since: datetime | None = None
    until: datetime | None = None

    def sql(self) -> str:
        parts = []
        if self.since is not None:
            parts.append(f'"@timestamp" >= {sql_string(self.since.isoformat())}::TIMESTAMPTZ')
        if self.until is not None:
            parts.append(f'"@timestamp" < {sql_string(self.until.isoformat())}::TIMESTAMPTZ')
        return " AND ".join(parts) if parts else "true"


def _open_binary(path: Path) -> Any:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def count_lines_if_regular(path: Path) -> int | None:
    """Line count if DuckDB will give exactly one row per line, else None.

    DuckDB's NDJSON reader drops blank and whitespace-only lines; any such line before the
    end of the file would shift every later line number, so the exact path is needed then.
    Blank lines at the very end are harmless and allowed.
    """
    lines = 0
    after_newline = True
    with _open_binary(path) as handle:
        while chunk := bytes(handle.read(CHUNK_BYTES)):
            if after_newline and chunk[:1] in (b"\n", b"\r", b" ", b"\t"):
                blank_at: int | None = 0
            else:
                found = [i + 1 for m in _BLANK_MARKERS if (i := chunk.find(m)) >= 0]
                blank_at = min(found) if found else None
            if blank_at is not None:
                if (chunk[blank_at:] + bytes(handle.read())).strip():
                    return None
                return lines + chunk[:blank_at].count(b"\n")
            lines += chunk.count(b"\n")
            after_newline = chunk.endswith(b"\n")
    return lines if after_newline else lines + 1


class PackQuery:
    """The one SQL statement that evaluates every compiled rule over a relation."""

    def __init__(self, compiled: Sequence[CompiledRule], window: TimeWindow) -> None:
        self.compiled = list(compiled)
        self.window = window
        self.any_rule = " OR ".join(f"({c.sql})" for c in self.compiled) or "false"
        cases = ", ".join(f"CASE WHEN ({c.sql}) THEN {i} END" for i, c in enumerate(self.compiled))
        self.rule_list = f"list_filter([{cases}], lambda i: i IS NOT NULL)" if cases else "[]"

    def over(self, relation: str, *, empty_flag: bool = False) -> str:
        cols = ", ".join(
            f"timezone('UTC', {sql_identifier(c)}) AS {sql_identifier(c)}"
            if c == "@timestamp"
            else sql_identifier(c)
            for c in OUTPUT_COLUMNS
        )
        select = f"SELECT {cols}, {self.rule_list} AS _rules"
        where = f"({self.window.sql()}) AND ({self.any_rule})"
        if empty_flag:
            select += ", _empty"
            where = f"({where}) OR _empty"
        return f"{select} FROM ({relation}) AS ev WHERE {where}"


def _rows(result: duckdb.DuckDBPyConnection) -> Iterator[dict[str, Any]]:
    names = [d[0] for d in result.description or []]
    while True:
        batch = result.fetchmany(4096)
        if not batch:
            return
        for values in batch:
            yield dict(zip(names, values, strict=True))


def _to_match(row: dict[str, Any]) -> MatchedEvent:
    indexes = tuple(row.pop("_rules") or ())
    stamp = row.get("@timestamp")
    if isinstance(stamp, datetime):
        row["@timestamp"] = stamp.replace(tzinfo=UTC)
    return MatchedEvent(fields=row, rule_indexes=indexes)


class EcsReader:
    """Runs the pack query over one ECS NDJSON input by the fast or the exact path."""

    def __init__(self, con: duckdb.DuckDBPyConnection, query: PackQuery) -> None:
        self.con = con
        self.query = query

    def scan(self, source: Input, report: InputReport) -> list[MatchedEvent]:
        size = source.path.stat().st_size
        lines = count_lines_if_regular(source.path) if size >= FAST_PATH_MIN_BYTES else None
        if lines is not None:
            report.path_taken = "fast"
            return self._fast(source, report, lines)
        report.path_taken = "exact"
        return self._exact(source, report)

    def _fast(self, source: Input, report: InputReport, lines: int) -> list[MatchedEvent]:
        relation = (
            f"SELECT {sql_string(source.display)} AS {sql_identifier(schema.FILE_COLUMN)}, "
            f"raw._line AS {sql_identifier(schema.LINE_COLUMN)}, "
            f"{sql_string(ecs.FORMAT)} AS {sql_identifier(schema.FORMAT_COLUMN)}, "
            f"({ecs.all_null_sql()}) AS _empty,\n  {ecs.projection_sql()}\n"
            f"FROM ({ecs.fast_raw_sql(source.path)}) AS raw"
        )
        matches: list[MatchedEvent] = []
        empty_lines: list[int] = []
        for row in _rows(self.con.execute(self.query.over(relation, empty_flag=True))):
            if row.pop("_empty"):
                empty_lines.append(int(row[schema.LINE_COLUMN]))
                continue
            matches.append(_to_match(row))
        if empty_lines:
            self._classify_empty(source, report, empty_lines)
        report.events = lines - report.problems.count
        return matches

    def _classify_empty(self, source: Input, report: InputReport, numbers: list[int]) -> None:
        """Lines DuckDB read as nothing: invalid JSON (a problem) or objects without ECS keys."""
        wanted = set(numbers)
        with _open_binary(source.path) as handle:
            for number, raw in enumerate(handle, start=1):
                if number in wanted:
                    _doc, reason = ecs.parse_line(raw)
                    if reason is not None:
                        report.problems.add(number, reason)
                    if number >= numbers[-1]:
                        break

    def _exact(self, source: Input, report: InputReport) -> list[MatchedEvent]:
        matches: list[MatchedEvent] = []
        for batch in ecs.read_exact(source.path, source.display, report.problems):
            report.events += batch.num_rows
            matches.extend(self.scan_batch(batch))
        return matches

    def scan_batch(self, batch: pa.RecordBatch) -> list[MatchedEvent]:
        """Evaluate the pack over one normalized Arrow batch."""
        table = pa.Table.from_batches([batch])
        name = "ih_batch"
        self.con.register(name, table)
        try:
            return [_to_match(r) for r in _rows(self.con.execute(self.query.over(name)))]
        finally:
            self.con.unregister(name)


def scan_inputs(
    con: duckdb.DuckDBPyConnection,
    compiled: Sequence[CompiledRule],
    inputs: Iterable[Input],
    window: TimeWindow,
) -> tuple[list[MatchedEvent], list[InputReport]]:
    """Scan every input; unrecognised or unreadable inputs are reported, never fatal."""
    query = PackQuery(compiled, window)
    reader = EcsReader(con, query)
    matches: list[MatchedEvent] = []
    reports: list[InputReport] = []
    for source in inputs:
        report = InputReport(display=source.display, format=source.format)
        reports.append(report)
        if source.format != ecs.FORMAT:
            report.skipped_reason = source.reason or "format not recognised"
            continue
        try:
            matches.extend(reader.scan(source, report))
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            report.skipped_reason = f"cannot read: {exc}"
        except duckdb.Error as exc:
            report.skipped_reason = f"cannot parse: {exc}".splitlines()[0]
    return matches, reports
