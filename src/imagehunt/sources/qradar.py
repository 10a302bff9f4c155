"""QRadar CSV export of an event search (Log Activity "Export to CSV", or Ariel API CSV).

A header row names the columns, then one event per row. Column names are matched
case-insensitively, ignoring spaces, underscores and parentheses, so the AQL form
(``QIDNAME(qid)``), the Ariel API form (``qidname_qid``), the UI display name (``Event Name``)
and the aliases of the seed query (``EventName``) are all recognised (see ``COLUMNS``).
Quoted fields may hold commas, quotes and newlines; ``_line`` is the line where the row starts.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from imagehunt.sources.base import Head
from imagehunt.sources.files import MAX_LINE_BYTES, bounded_lines, open_binary
from imagehunt.sources.normalize import to_timestamp
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row

FORMAT = "qradar"
BOM = "\ufeff"

# role of a column -> its normalized names (lower case, no spaces, underscores, parentheses)
_ROLES: dict[str, tuple[str, ...]] = {
    "device_time": ("devicetime", "logsourcetime", "eventtime"),
    "start_time": ("starttime",),
    "source_ip": ("sourceip",),
    "host_ip": ("hostip",),
    "source_port": ("sourceport",),
    "destination_ip": ("destinationip", "destip"),
    "destination_port": ("destinationport", "destport"),
    "protocol": ("protocol", "protocolnameprotocolid", "protocolid"),
    "user": ("username", "user"),
    "process_name": ("processname",),
    "process_path": ("processpath", "image"),
    "command": ("command", "commandline", "processcommandline"),
    "pid": ("processid", "pid"),
    "parent_name": ("parentprocessname",),
    "parent_path": ("parentprocesspath", "parentimage"),
    "parent_command": ("parentcommandline", "parentprocesscommandline"),
    "parent_pid": ("parentprocessid",),
    "event_name": ("qidnameqid", "eventname"),
    "qid": ("qid",),
    "log_source": ("logsourcenamelogsourceid", "logsource", "logsourcename"),
    "log_source_type": (
        "logsourcetypenamedevicetype",
        "logsourcetype",
        "logsourcetypename",
    ),
    "host_name": ("hostname", "identityhostname", "computer"),
    "url": ("url",),
}
COLUMNS: dict[str, str] = {name: role for role, names in _ROLES.items() for name in names}
# known but not mapped (they still count as QRadar columns when sniffing)
OTHER_COLUMNS = frozenset(
    {
        "categorynamecategory",
        "lowlevelcategory",
        "highlevelcategory",
        "eventcount",
        "magnitude",
        "detectionbranch",
        "logsourceid",
        "devicetype",
        "category",
        "storagetime",
    }
)
SNIFF_MIN_KNOWN = 2
NO_VALUE = frozenset({"0", "0.0.0.0", "N/A", "-"})  # what QRadar shows for "none"


def normalize_name(name: str) -> str:
    """Column name as matched: lower case without spaces, underscores, quotes, parentheses."""
    drop = str.maketrans("", "", " _()\"'\t")
    return name.strip().lstrip(BOM).translate(drop).lower()


# ---- sniffing ---------------------------------------------------------------------------------
def sniff(head: Head) -> bool:
    """The first non-blank line is a CSV header with at least two known QRadar columns."""
    if not head.lines:
        return False
    first = head.lines[0].removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
    if first[:1] in ("{", "[", "#", "<") or "," not in first:
        return False
    try:
        names = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return False
    known = {n for n in map(normalize_name, names) if n in COLUMNS or n in OTHER_COLUMNS}
    return len(known) >= SNIFF_MIN_KNOWN


# ---- values -----------------------------------------------------------------------------------
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}


@lru_cache(maxsize=4096)
def parse_time(text: str) -> datetime | None:
    """Epoch milliseconds, ISO-like ``yyyy-MM-dd HH:mm:ss``, or the UI's ``Nov 20, 2026, ...``.

    Times without a zone are taken as UTC (QRadar formats them in the console's zone).
    """
    text = text.strip()
    if not text:
        return None
    if text[0].isdigit():
        return to_timestamp(text)
    return _ui_time(text)


def _ui_time(text: str) -> datetime | None:
    """``Nov 20, 2026, 10:00:00 AM`` (comma after the year optional, 12- or 24-hour clock)."""
    parts = text.replace(",", " ").replace("\u202f", " ").replace("\xa0", " ").split()
    if len(parts) not in (4, 5) or parts[3].count(":") != 2:
        return None
    month = _MONTHS.get(parts[0][:3].lower())
    hour_text, minute_text, second_text = parts[3].split(":")
    try:
        day, year = int(parts[1]), int(parts[2])
        hour, minute = int(hour_text), int(minute_text)
        second = float(second_text)
    except ValueError:
        return None
    if len(parts) == 5:
        marker = parts[4].upper()
        if marker not in ("AM", "PM") or not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if marker == "PM" else 0)
    if month is None or not 0 <= second < 60:
        return None
    try:
        return datetime(year, month, day, hour, minute, int(second), tzinfo=UTC)
    except ValueError:
        return None


def split_command(text: str) -> list[str]:
    """Arguments of a command line: whitespace splits, quotes group and are removed.

    Tolerant (an unclosed quote runs to the end) and backslashes are kept as they are, so
    Windows paths survive. Nothing is expanded or executed.
    """
    if '"' not in text and "'" not in text:
        return text.split()
    args: list[str] = []
    current: list[str] = []
    quote = ""
    started = False
    for char in text:
        if quote:
            if char == quote:
                quote = ""
            else:
                current.append(char)
        elif char in "\"'":
            quote, started = char, True
        elif char.isspace():
            if started:
                args.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        args.append("".join(current))
    return args


def _split_path(value: str | None) -> tuple[str | None, str | None]:
    """(name, executable): a value with a path separator is an executable path."""
    if not value:
        return None, None
    if "/" in value or "\\" in value:
        name = value.replace("\\", "/").rsplit("/", 1)[-1]
        return name or None, value
    return value, None


def _transport(value: str | None) -> str | None:
    if not value:
        return None
    return value.lower().removesuffix(".ip")


# ---- row to values ----------------------------------------------------------------------------
def row_values(cells: dict[str, str]) -> dict[str, Any]:
    """Row values of one CSV row given as {role: non-empty cell text}."""
    get = cells.get
    name, executable = _split_path(get("process_name"))
    executable = get("process_path") or executable
    if name is None and executable is not None:
        name = _split_path(executable)[0]
    parent_name, parent_exe = _split_path(get("parent_name"))
    parent_exe = get("parent_path") or parent_exe
    if parent_name is None and parent_exe is not None:
        parent_name = _split_path(parent_exe)[0]
    command = get("command")
    host_ip = get("host_ip")
    time_text = get("device_time") or get("start_time")
    values: dict[str, Any] = {
        "@timestamp": parse_time(time_text) if time_text else None,
        "event.module": "qradar",
        "event.action": get("event_name"),
        "rule.name": get("event_name"),
        "event.code": get("qid"),
        "observer.name": get("log_source"),
        "observer.product": get("log_source_type"),
        "host.name": get("host_name"),
        "host.ip": [host_ip] if host_ip else None,
        "user.name": get("user"),
        "source.ip": get("source_ip") or host_ip,
        "source.port": get("source_port"),
        "destination.ip": get("destination_ip"),
        "destination.port": get("destination_port"),
        "network.transport": _transport(get("protocol")),
        "process.name": name,
        "process.executable": executable,
        "process.command_line": command,
        "process.args": split_command(command) if command else None,
        "process.pid": get("pid"),
        "process.parent.name": parent_name,
        "process.parent.executable": parent_exe,
        "process.parent.command_line": get("parent_command"),
        "process.parent.pid": get("parent_pid"),
        "url.full": get("url"),
    }
    values.update(_categories(values))
    return values


def _categories(values: dict[str, Any]) -> dict[str, Any]:
    """Process start when a process is named, network connection when a destination is."""
    categories: list[str] = []
    types: list[str] = []
    if values["process.name"] or values["process.executable"] or values["process.command_line"]:
        categories.append("process")
        types.append("start")
    if values["destination.ip"] or values["destination.port"]:
        categories.append("network")
        types += ["connection"] if types else ["connection", "start"]
    if not categories:
        return {}
    return {"event.category": categories, "event.type": types}


# ---- reading ----------------------------------------------------------------------------------
def physical_lines(handle: IO[bytes], problems: ReadProblems) -> Iterator[str]:
    """Decoded lines with their newline, one per physical line; over-long ones become empty."""
    for number, raw in bounded_lines(handle, MAX_LINE_BYTES):
        if raw is None:
            problems.add(number, f"line longer than {MAX_LINE_BYTES} bytes")
            yield "\n"
            continue
        text = raw.decode("utf-8", "replace")
        if number == 1:
            text = text.removeprefix(BOM)
        yield text


class _Header:
    """Column positions of the header row: index -> role (unknown columns left out)."""

    def __init__(self, names: list[str]) -> None:
        self.width = len(names)
        self.roles: list[tuple[int, str]] = []
        seen: set[str] = set()
        for index, name in enumerate(normalize_name(n) for n in names):
            role = COLUMNS.get(name)
            if role is not None and role not in seen:
                self.roles.append((index, role))
                seen.add(role)

    def cells(self, row: list[str]) -> dict[str, str]:
        """{role: cell} of the non-empty known cells of ``row``."""
        found: dict[str, str] = {}
        for index, role in self.roles:
            cell = row[index].strip()
            if cell and cell not in NO_VALUE:
                found[role] = cell
        return found


def _rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    previous_limit = csv.field_size_limit(MAX_LINE_BYTES)
    try:
        with open_binary(path) as handle:
            yield from _csv_rows(physical_lines(handle, problems), display, problems)
    finally:
        csv.field_size_limit(previous_limit)


class _TakenLines:
    """The physical lines the csv reader consumed for its current record."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.taken: list[str] = []

    def __iter__(self) -> _TakenLines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.taken.append(line)
        return line


def _csv_rows(
    lines: Iterator[str], display: str, problems: ReadProblems
) -> Iterator[dict[str, Any]]:
    """Rows after the header; ``_line`` is where each row starts.

    A quote that never closes makes the csv reader swallow the following lines into one
    bad record; those lines are then read again one by one, so one broken row costs one
    row, not the rest of the file.
    """
    source = _TakenLines(lines)
    reader = csv.reader(source, strict=False)
    header: _Header | None = None
    while True:
        start = reader.line_num + 1
        source.taken = []
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.add(start, f"unreadable CSV row: {exc}")
            if header is not None:
                yield from _reread(source.taken[1:], start + 1, header, display, problems)
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if header is None:
            header = _Header(row)
            continue
        if len(row) != header.width:
            problems.add(start, f"{len(row)} columns where the header has {header.width}")
            yield from _reread(source.taken[1:], start + 1, header, display, problems)
            continue
        if len(source.taken) > 1 and _open_at_end(source.taken):
            problems.add(start, "a quoted field never closes: the lines after it are read alone")
            yield from _reread(source.taken[1:], start + 1, header, display, problems)
            continue
        yield make_row(row_values(header.cells(row)), display, start, FORMAT)


def _open_at_end(lines: list[str]) -> bool:
    """True when a multi-line record only ended because the file did (its quote is open)."""
    try:
        list(csv.reader(lines, strict=True))
    except csv.Error:
        return True
    return False


def _reread(
    lines: list[str], first: int, header: _Header, display: str, problems: ReadProblems
) -> Iterator[dict[str, Any]]:
    """Lines a broken record swallowed, each read as a row of its own."""
    for number, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        try:
            row = next(csv.reader([line], strict=False))
        except csv.Error as exc:
            problems.add(number, f"unreadable CSV row: {exc}")
            continue
        if len(row) != header.width:
            problems.add(number, f"{len(row)} columns where the header has {header.width}")
            continue
        yield make_row(row_values(header.cells(row)), display, number, FORMAT)


def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized batches of every exported event; rows of the wrong width are problems."""
    return batches(_rows(path, display, problems))
