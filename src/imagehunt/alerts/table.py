"""Human views: the alert table (stdout) and the compact run summary (stderr), with Rich.

Every value from logs is shown as plain text: no Rich markup, and control characters (which
could drive the terminal) are shown escaped, e.g. ``\\x1b``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from imagehunt.alerts.model import LEVELS, Alert
from imagehunt.alerts.summary import count_by_host, count_by_level, count_by_rule

LEVEL_STYLES: dict[str, str] = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "informational": "dim",
}

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def plain(value: object) -> str:
    """``value`` as one line of text with control characters escaped (``None`` → ``-``)."""
    return "-" if value is None else str(value).translate(_CONTROL)


def render_table(alerts: Iterable[Alert], console: Console) -> None:
    """Print the alerts sorted by time then most severe first: a header line, then a summary.

    Two lines per alert read well at any width; a wide table does not fit 80 columns.
    """
    ordered = sorted(alerts, key=lambda a: (_time_key(a.timestamp), -_rank(a.level)))
    for alert in ordered:
        evidence = ", ".join(f"{plain(ev.file)}:{ev.line}" for ev in alert.evidence)
        head = Text()
        head.append(f"{plain(alert.level).upper():<8}", style=LEVEL_STYLES.get(alert.level, ""))
        head.append(f" {_time_text(alert.timestamp)}  ")
        head.append(plain(alert.rule.name), style="bold")
        head.append(f"  host={plain(alert.host_name)}  ")
        head.append(evidence, style="cyan")
        console.print(head, overflow="fold")
        console.print(Text("         " + plain(alert.summary)), overflow="fold")
    noun = "alert" if len(ordered) == 1 else "alerts"
    console.print(Text(f"{len(ordered)} {noun}", style="bold"))


def render_summary(
    alerts: Sequence[Alert],
    console: Console,
    *,
    skipped: Mapping[str, int] | None = None,
    problems: Sequence[str] = (),
    limit: int = 10,
) -> None:
    """Print totals by level, counts by rule and host, skipped records and the first problems.

    Each list shows at most ``limit`` entries followed by ``… and N more``.
    """
    console.print(Text(_totals_line(alerts)))
    if alerts:
        console.print(_count_table("Rule", count_by_rule(alerts), limit))
        console.print(_count_table("Host", count_by_host(alerts), limit))
    files = [(name, n) for name, n in (skipped or {}).items() if n > 0]
    if files:
        console.print(Text(f"Skipped {sum(n for _, n in files)} unreadable records:"))
        lines = [f"  {plain(name)}: {n}" for name, n in files]
        _print_capped(console, lines, limit, "files")
    if problems:
        console.print(Text(f"Problems ({len(problems)}):"))
        _print_capped(console, [f"  {plain(p)}" for p in problems], limit, "problems")


def _totals_line(alerts: Sequence[Alert]) -> str:
    if not alerts:
        return "No alerts."
    parts = [f"{n} {level}" for level, n in count_by_level(alerts).items() if n]
    noun = "alert" if len(alerts) == 1 else "alerts"
    return f"{len(alerts)} {noun}: {', '.join(parts)}"


def _count_table(label: str, counts: Mapping[str, int], limit: int) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column(label)
    table.add_column("Alerts", justify="right")
    items = list(counts.items())
    for name, n in items[:limit]:
        table.add_row(Text(plain(name)), Text(str(n)))
    if len(items) > limit:
        table.add_row(Text(f"… and {len(items) - limit} more"), Text(""))
    return table


def _print_capped(console: Console, lines: Sequence[str], limit: int, noun: str) -> None:
    for line in lines[:limit]:
        console.print(Text(line))
    if len(lines) > limit:
        console.print(Text(f"  … and {len(lines) - limit} more {noun}"))


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def _time_key(ts: datetime | None) -> tuple[int, float]:
    if ts is None:
        return (1, 0.0)
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return (0, aware.timestamp())


def _time_text(ts: datetime | None) -> str:
    if ts is None:
        return "-"
    return ts.isoformat(sep=" ", timespec="seconds").replace("+00:00", "Z")
