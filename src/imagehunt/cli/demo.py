"""`imagehunt demo`: scan the bundled example logs and print the alerts."""

from __future__ import annotations

import os
import sys
from importlib.resources import files
from pathlib import Path

import click
from rich.console import Console

from imagehunt.alerts.output import write_alerts
from imagehunt.cli.scan import report_run
from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import load_pack
from imagehunt.sources.inputs import expand, spool_directory


def examples_dir() -> Path:
    """The bundled example logs (package data, or the source tree's examples/)."""
    packaged = Path(str(files("imagehunt") / "examples"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "examples"


@click.command()
def demo() -> None:
    """Scan the bundled example logs (examples/) with the whole pack and show the alerts."""
    folder = examples_dir()
    if not folder.is_dir():
        raise click.ClickException(f"bundled examples not found at {folder}")
    err = Console(stderr=True)
    err.print(f"imagehunt demo: scanning {folder} with the whole rule pack\n", highlight=False)
    pack = load_pack()
    with spool_directory() as spool:
        shown = os.path.relpath(folder)
        target = shown if not shown.startswith("..") else str(folder)
        outcome = run_scan(pack, list(expand([target], Path(spool))))
    write_alerts(outcome.alerts, "table", pack_version=pack.version, output=None, stdout=sys.stdout)
    report_run(err, outcome, [*pack.errors, *outcome.rule_errors])
    err.print(
        f"\n{outcome.events} events scanned. Next: `imagehunt scan YOUR_LOGS -f jsonl`, "
        "`imagehunt rules show miner_then_pool`, `imagehunt validate` (coverage of the five "
        "atomic tests).",
        highlight=False,
    )
