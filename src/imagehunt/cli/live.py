"""`imagehunt emulate N --live`: perform the test on this host, then scan what auditd saw."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from imagehunt.emulate.environment import validation_config
from imagehunt.emulate.live import perform
from imagehunt.emulate.tests import get_test
from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources.inputs import Input
from imagehunt.validate.matrix import run_cell


def live_rules(log: Path, pack: RulePack | None = None) -> list[tuple[str, str, int]]:
    """(rule, level, evidence line) of every alert on a captured audit log, in line order.

    ``pack`` is the rule pack to run (default: the shipped one).
    """
    inputs = [Input(log, log.name, "auditd")]
    pack = pack if pack is not None else load_pack()
    outcome = run_scan(pack, inputs, config=validation_config())
    alerts = sorted(outcome.alerts, key=lambda a: a.evidence[0].line)
    return [(a.rule.name, a.rule.level, a.evidence[0].line) for a in alerts]


def run_live_command(test: int, output: Path | None) -> None:
    """Perform ``test`` live, report the rules that fired and compare with the emulation."""
    with tempfile.TemporaryDirectory(prefix="imagehunt-live-out-") as tmp:
        log = output or Path(tmp) / f"test{test}-live-audit.log"
        capture = perform(test, log)
        pack = load_pack()
        fired = live_rules(capture.log, pack)
        generated = run_cell(get_test(test), "auditd", 0, Path(tmp), pack)
    live_set = sorted({rule for rule, _, _ in fired})
    generated_set = sorted(generated.fired_rules)
    click.echo(f"captured audit log: {capture.log if output else '(temporary)'}")
    for rule, level, line in fired:
        click.echo(f"  {rule} ({level}) at line {line}")
    click.echo(f"rules fired live:           {', '.join(live_set) or 'none'}")
    click.echo(f"rules fired on emulation:   {', '.join(generated_set) or 'none'}")
    if not capture.public_addresses:
        click.echo("note: no network namespace here; the pool stood in on 127.0.0.1", err=True)
    same = live_set == generated_set
    click.echo("same matrix row as the generated auditd: " + ("yes" if same else "NO"))
    missing = [r for r in get_test(test).expected_rules["auditd"] if r not in live_set]
    if missing:
        click.echo(f"missed live: {', '.join(missing)}", err=True)
        sys.exit(1)
