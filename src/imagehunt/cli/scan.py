"""`imagehunt scan`: run the pack over logs and report alerts."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console

from imagehunt.alerts.model import level_rank
from imagehunt.alerts.output import FORMATS, write_alerts
from imagehunt.alerts.table import render_summary
from imagehunt.cli.options import (
    LEVEL_CHOICE,
    TimeParam,
    check_rules_options,
    output_option,
    rules_options,
)
from imagehunt.config import load_config
from imagehunt.engine.detect import ScanOutcome, run_scan
from imagehunt.engine.scan import TimeWindow
from imagehunt.rulepack import load_pack
from imagehunt.sources.inputs import expand, spool_directory


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Format of the alerts written.",
)
@output_option("alerts")
@rules_options("Run only the rules given with --rules.")
@click.option(
    "--rule",
    "select",
    multiple=True,
    metavar="ID",
    help="Run only this rule (slug or UUID); repeatable.",
)
@click.option(
    "--exclude-rule",
    "exclude",
    multiple=True,
    metavar="ID",
    help="Do not run this rule (slug or UUID); repeatable.",
)
@click.option("--min-level", type=LEVEL_CHOICE, help="Report only alerts at or above LEVEL.")
@click.option("--since", type=TimeParam(), help="Only events at or after TIME (ISO or 24h/7d).")
@click.option("--until", type=TimeParam(), help="Only events before TIME.")
@click.option(
    "--fail-on",
    type=LEVEL_CHOICE,
    help="Exit 1 when an alert at or above LEVEL is reported (off by default).",
)
@click.option("--strict", is_flag=True, help="Exit 4 when any input record is malformed.")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Config file (YAML): trusted images and AMI owners, launch thresholds.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors.")
def scan(
    paths: tuple[str, ...],
    fmt: str,
    output: Path | None,
    rule_dirs: tuple[Path, ...],
    no_default_rules: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    min_level: str | None,
    since: datetime | None,
    until: datetime | None,
    fail_on: str | None,
    strict: bool,
    config_path: Path | None,
    quiet: bool,
) -> None:
    """Scan PATHS (files, folders, .gz, or - for stdin) with the T1204.003 rule pack.

    Reads ECS NDJSON, auditd, Sysmon (Linux, EVTX, winlogbeat), CloudTrail, Docker events,
    Kubernetes audit, Zeek, Falco and QRadar CSV, recognised from their content (any mix in
    one folder). Malformed records are skipped, counted and reported as file:line; the scan
    always finishes.
    """
    check_rules_options(rule_dirs, no_default_rules)
    err = Console(stderr=True, quiet=quiet)
    config = load_config(config_path)
    pack = load_pack(
        list(rule_dirs),
        include_builtin=not no_default_rules,
        select=select,
        exclude=exclude,
        min_level=min_level,
    )
    with spool_directory() as spool:
        inputs = list(expand(paths, Path(spool)))
        outcome = run_scan(
            pack, inputs, TimeWindow(since, until), min_level=min_level, config=config
        )
    errors = [*pack.errors, *outcome.rule_errors]
    write_alerts(outcome.alerts, fmt, pack_version=pack.version, output=output, stdout=sys.stdout)
    report_run(err, outcome, errors)
    sys.exit(exit_code(outcome, bool(errors), fail_on, strict))


def report_run(err: Console, outcome: ScanOutcome, errors: Sequence[Exception]) -> None:
    """Run summary on stderr: alerts by level, rule and host; skipped records; rule errors."""
    skipped = {r.display: r.problems.count for r in outcome.inputs if r.problems.count}
    problems = [
        f"{r.display}:{line}: {reason}" for r in outcome.inputs for line, reason in r.problems.first
    ]
    problems += [
        f"{r.display}: skipped, {r.skipped_reason}" for r in outcome.inputs if r.skipped_reason
    ]
    render_summary(outcome.alerts, err, skipped=skipped, problems=problems)
    err.print(
        f"{outcome.events} events from {len(outcome.inputs)} input(s), "
        f"{outcome.rules_run} rules run",
        highlight=False,
    )
    for error in errors:
        click.echo(f"rule error: {error}", err=True)


def exit_code(outcome: ScanOutcome, rule_errors: bool, fail_on: str | None, strict: bool) -> int:
    """Exit status per the README: 4 input, then 3 rules, then 1 alerts, else 0."""
    readable = [r for r in outcome.inputs if not r.skipped_reason]
    if not readable or (strict and (outcome.problems or len(readable) < len(outcome.inputs))):
        return 4
    if rule_errors:
        return 3
    if fail_on is not None and any(
        level_rank(a.level) >= level_rank(fail_on) for a in outcome.alerts
    ):
        return 1
    return 0
