"""Pick the writer for ``--format`` and send alerts to stdout or, atomically, to ``-o FILE``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from rich.console import Console

from imagehunt.alerts.atomic import write_atomic
from imagehunt.alerts.csv_writer import render_csv
from imagehunt.alerts.json_writer import render_json
from imagehunt.alerts.jsonl import render_jsonl
from imagehunt.alerts.model import Alert
from imagehunt.alerts.sarif import render_sarif
from imagehunt.alerts.table import render_table
from imagehunt.errors import UsageError

FORMATS: tuple[str, ...] = ("table", "jsonl", "json", "csv", "sarif")

FILE_TABLE_WIDTH = 160


def write_alerts(
    alerts: Sequence[Alert],
    fmt: str,
    *,
    pack_version: str,
    output: Path | None,
    stdout: TextIO,
    console_width: int | None = None,
) -> None:
    """Render ``alerts`` as ``fmt`` to ``output`` (atomic replace) or to ``stdout``.

    A table written to a file is plain text, ``console_width`` (default 160) columns wide.
    Raises ``UsageError`` for an unknown format or an output path that cannot be written.
    """
    if fmt not in FORMATS:
        raise UsageError(
            f"unknown output format {fmt!r}", hint=f"choose one of: {', '.join(FORMATS)}"
        )
    if output is None:
        console = Console(file=stdout, width=console_width, markup=False, emoji=False)
        _render(alerts, fmt, pack_version, stdout, console)
        stdout.flush()
        return

    def write(handle: TextIO) -> None:
        console = Console(
            file=handle,
            width=console_width or FILE_TABLE_WIDTH,
            color_system=None,
            force_terminal=False,
            no_color=True,
            markup=False,
            emoji=False,
            highlight=False,
        )
        _render(alerts, fmt, pack_version, handle, console)

    try:
        write_atomic(output, write)
    except OSError as exc:
        raise UsageError(
            f"cannot write alerts to {output}: {exc.strerror or exc}",
            file=output,
            hint="check that the directory exists and is writable, or omit -o to use stdout",
        ) from exc


def _render(
    alerts: Sequence[Alert], fmt: str, pack_version: str, handle: TextIO, console: Console
) -> None:
    if fmt == "table":
        render_table(alerts, console)
    elif fmt == "jsonl":
        handle.writelines(render_jsonl(alerts))
    elif fmt == "json":
        handle.write(render_json(alerts, pack_version=pack_version))
    elif fmt == "csv":
        handle.writelines(render_csv(alerts))
    else:
        handle.write(render_sarif(alerts, pack_version=pack_version))
