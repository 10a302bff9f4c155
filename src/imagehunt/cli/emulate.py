"""`imagehunt emulate`: the telemetry of one atomic test, in a producer's own log format."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import click

from imagehunt.alerts.atomic import write_output
from imagehunt.cli.options import output_option
from imagehunt.emulate.tests import FORMATS, TESTS, get_test
from imagehunt.errors import UsageError


def _usage_tests() -> str:
    return "; ".join(f"{t.number}: {', '.join(t.formats)}" for t in TESTS)


@click.command()
@click.argument("test", type=click.IntRange(1, len(TESTS)))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Log format to write (default: the test's first format).",
)
@output_option()
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same output.")
@click.option("--benign-only", is_flag=True, help="Only the benign background, no attack step.")
@click.option(
    "--live",
    is_flag=True,
    help="Perform the test for real but harmlessly on this host (Linux, root, auditd) and "
    "report which rules fire on the captured audit log.",
)
def emulate(
    test: int, fmt: str | None, output: Path | None, seed: int, benign_only: bool, live: bool
) -> None:
    """Write the telemetry of atomic TEST (1-5) of T1204.003, with benign events around it.

    \b
    Tests and the formats they exist in:
      1 miner in a container      ecs, auditd, sysmon, falco, docker
      2 mining-pool connection    ecs, auditd, sysmon, winlogbeat, zeek
      3 malicious-style image     docker, ecs, auditd, sysmon
      4 community AMI launch      cloudtrail
      5 container credentials     ecs, auditd, sysmon, docker, k8s
    """
    if live:
        from imagehunt.cli.live import run_live_command

        run_live_command(test, output)
        return
    atomic = get_test(test)
    fmt = fmt or atomic.formats[0]
    if fmt not in atomic.formats:
        raise UsageError(
            f"test {test} has no {fmt} telemetry",
            hint=f"test {test} exists in: {', '.join(atomic.formats)} ({_usage_tests()})",
        )
    from imagehunt.validate.matrix import render

    _, text = render(test, fmt, seed, attack=not benign_only)

    def write(handle: TextIO) -> None:
        handle.write(text)

    write_output(output, write)
