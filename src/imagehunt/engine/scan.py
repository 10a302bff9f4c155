"""Run the compiled pack over inputs in one DuckDB pass per file, then correlate.

All detection rules are evaluated in a single query per input (one WHERE with every rule, a
list of the rules each matching row satisfies); only matching rows leave DuckDB.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from imagehunt import schema
from imagehunt.backends.duckdb import sql_identifier, sql_string
from imagehunt.engine.compile import CompiledRule
from imagehunt.errors import ImagehuntError
from imagehunt.sources import ecs
from imagehunt.sources.inputs import Input
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches
from imagehunt.sources.sniff import source_for

FAST_PATH_MIN_BYTES = 1 << 20


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


def _case_and(parts: Sequence[str]) -> str:
    expr = parts[-1]
    for part in reversed(parts[:-1]):
        expr = f"CASE WHEN {part} THEN {expr} ELSE false END"
    return expr


def factor_or(alternatives: list[list[str]]) -> str:
    """OR of AND-lists, shared leading operands factored out, as short-circuiting CASEs.

    ``[[g, a], [g, b], [c]]`` becomes "g and (a or b), or else c": a log-source guard shared
    by six process rules is checked once per row, and a rule's later parts run only on rows
    that passed its earlier ones. CASE keeps that order even where DuckDB evaluates every
    operand of AND/OR (projections).
    """
    if not alternatives:
        return "false"
    groups: dict[str, list[list[str]]] = {}
    for alt in alternatives:
        groups.setdefault(alt[0], []).append(alt[1:])
    parts = []
    for head, rests in groups.items():
        if any(not rest for rest in rests):
            parts.append(head)
        elif len(rests) == 1:
            parts.append(_case_and([head, *rests[0]]))
        else:
            parts.append(_case_and([head, factor_or(rests)]))
    expr = parts[-1]
    for part in reversed(parts[:-1]):
        expr = f"CASE WHEN {part} THEN true ELSE {expr} END"
    return expr


class PackQuery:
    """The pack as SQL: one flag for "matches any rule", and each rule on its own."""

    def __init__(self, compiled: Sequence[CompiledRule], window: TimeWindow) -> None:
        self.compiled = list(compiled)
        self.window = window
        self.any_rule = factor_or([list(c) for r in self.compiled for c in r.conjuncts])

    @property
    def flag(self) -> str:
        """Boolean SQL: the row is in the time window and matches at least one rule."""
        return f"coalesce(CASE WHEN {self.window.sql()} THEN {self.any_rule} ELSE false END, false)"

    def needed_fields(self) -> list[str]:
        """Schema fields the flag reads (computed once per row on the fast path)."""
        text = f"{self.window.sql()} {self.any_rule}"
        return [name for name in schema.FIELD_NAMES if sql_identifier(name) in text]


MATCHED_TABLE = "ih_matched"
STREAM_TABLE = "ih_stream"
CHECK_TABLE = "ih_check"
CODE_BATCH_ROWS = 1 << 20


class PackScanner:
    """Scans inputs: large ECS files by DuckDB's reader, everything else as one Arrow stream.

    Both give the matching rows, normalized; which rules each matched is then decided by
    running every rule on those few rows only.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, query: PackQuery) -> None:
        self.con = con
        self.query = query
        self.matched: list[pa.Table] = []

    # ---- fast path ---------------------------------------------------------------------------
    def scan_fast(self, source: Input, report: InputReport) -> bool:
        """DuckDB finds the matching rows; Python maps them to lines and reads just those.

        False when DuckDB's row count differs from the file's non-blank lines (it read the
        file differently than expected): the file then takes the exact path.
        """
        sql = ecs.fast_codes_sql(source.path, self.query.needed_fields(), self.query.flag)
        matched: list[int] = []
        empty: list[int] = []
        rows = 0
        reader = self.con.sql(sql).to_arrow_reader(CODE_BATCH_ROWS)
        for batch in reader:
            codes = batch.column(0)
            for index in pc.indices_nonzero(codes).to_pylist():
                code = codes[index].as_py()
                (matched if code == ecs.ROW_MATCHED else empty).append(rows + index + 1)
            rows += batch.num_rows
        located = ecs.fetch_rows(source.path, [*matched, *empty])
        if located.rows != rows:
            return False
        for number in empty:
            line, text = located.found.get(number, (0, b""))
            _doc, reason = ecs.parse_line(text)
            if reason is not None:
                report.problems.add(line, reason)
        table = pa.Table.from_batches(
            batches(self._matched_rows(located, matched, source.display, report)),
            schema=schema.arrow_schema(),
        )
        del located  # the texts of the matched lines: not needed any more
        if self.count_flagged(table) != table.num_rows:
            return False  # a re-read line does not match: rows and lines disagree
        report.events = rows - report.problems.count
        report.path_taken = "fast"
        if table.num_rows:
            self.matched.append(table)
        return True

    @staticmethod
    def _matched_rows(
        located: ecs.RowLines, matched: list[int], display: str, report: InputReport
    ) -> Iterator[dict[str, Any]]:
        """Normalized rows of the matched lines (Arrow batches hold them, not a long list)."""
        for number in matched:
            line, text = located.found.get(number, (0, b""))
            doc, reason = ecs.parse_line(text)
            if doc is None:
                report.problems.add(line, reason or "line vanished while reading")
                continue
            yield ecs.normalized_row(doc, display, line)

    def count_flagged(self, table: pa.Table) -> int:
        """How many rows of ``table`` the pack flag holds for."""
        self.con.register(CHECK_TABLE, table)
        try:
            sql = f"SELECT count(*) FROM {CHECK_TABLE} WHERE {self.query.flag}"
            result = self.con.execute(sql).fetchall()
        finally:
            self.con.unregister(CHECK_TABLE)
        return int(result[0][0])

    # ---- exact path: every other input, one query ---------------------------------------------
    def scan_stream(self, sources: Sequence[tuple[Input, InputReport]]) -> None:
        """Python reads every line of every source; DuckDB filters the stream in one query."""

        def batches() -> Iterator[pa.RecordBatch]:
            for source, report in sources:
                report.path_taken = "exact"
                reader = source_for(str(source.format)).read
                try:
                    for batch in reader(source.path, source.display, report.problems):
                        report.events += batch.num_rows
                        yield batch
                except (OSError, EOFError, gzip.BadGzipFile, ImagehuntError) as exc:
                    report.skipped_reason = (
                        f"reading stopped after {report.events} events (the rest is lost): {exc}"
                    )

        stream = pa.RecordBatchReader.from_batches(schema.arrow_schema(), batches())
        self.con.register(STREAM_TABLE, stream)
        try:
            sql = f"SELECT * FROM {STREAM_TABLE} WHERE {self.query.flag}"
            self.matched.append(self.con.sql(sql).to_arrow_table())
        finally:
            self.con.unregister(STREAM_TABLE)

    # ---- which rules matched --------------------------------------------------------------------
    def matches(self) -> list[MatchedEvent]:
        """Matched rows with the rules each satisfies, in input order."""
        tables = [t for t in self.matched if t.num_rows]
        if not tables:
            return []
        table = pa.concat_tables([t.cast(schema.arrow_schema()) for t in tables])
        self.con.register(MATCHED_TABLE, table.append_column("_i", pa.array(range(table.num_rows))))
        try:
            indexes: list[list[int]] = [[] for _ in range(table.num_rows)]
            window = self.query.window.sql()
            for number, rule in enumerate(self.query.compiled):
                sql = f"SELECT _i FROM {MATCHED_TABLE} WHERE ({window}) AND ({rule.sql})"
                for (i,) in self.con.execute(sql).fetchall():
                    indexes[int(i)].append(number)
        finally:
            self.con.unregister(MATCHED_TABLE)
        events: list[MatchedEvent] = []
        offset = 0
        for batch in table.to_batches(max_chunksize=8192):  # a few dicts at a time
            for row in batch.to_pylist():
                found = indexes[offset]
                offset += 1
                if found:  # only the fields the event has: a scan may keep many matches
                    fields = {k: v for k, v in row.items() if v is not None and v != []}
                    events.append(MatchedEvent(fields=fields, rule_indexes=tuple(found)))
        return events


def scan_inputs(
    con: duckdb.DuckDBPyConnection,
    compiled: Sequence[CompiledRule],
    inputs: Iterable[Input],
    window: TimeWindow,
) -> tuple[list[MatchedEvent], list[InputReport]]:
    """Scan every input; unrecognised or unreadable inputs are reported, never fatal."""
    scanner = PackScanner(con, PackQuery(compiled, window))
    reports: list[InputReport] = []
    streamed: list[tuple[Input, InputReport]] = []
    for source in inputs:
        report = InputReport(display=source.display, format=source.format)
        reports.append(report)
        if source.format is None:
            report.skipped_reason = source.reason or "format not recognised"
            continue
        if source.format != ecs.FORMAT:
            streamed.append((source, report))
            continue
        try:
            if source.path.stat().st_size >= FAST_PATH_MIN_BYTES and scanner.scan_fast(
                source, report
            ):
                continue
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            report.skipped_reason = f"cannot read: {exc}"
            continue
        except duckdb.Error:
            pass  # DuckDB could not read it: the exact path reads it line by line
        report.problems = ReadProblems()
        report.events = 0
        streamed.append((source, report))
    if streamed:
        scanner.scan_stream(streamed)
    return scanner.matches(), reports
