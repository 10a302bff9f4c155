"""`imagehunt convert`: the rule pack in another query language, rule by rule."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from imagehunt.alerts.atomic import write_output
from imagehunt.backends.registry import TARGETS
from imagehunt.backends.targets import convert_pack
from imagehunt.cli.options import check_rules_options, output_option, rules_options
from imagehunt.errors import UsageError
from imagehunt.rulepack import load_pack


@click.command()
@click.option(
    "-t", "--target", required=True, type=click.Choice(sorted(TARGETS)), help="Output language."
)
@click.option("-f", "--format", "fmt", help="Output format of the target (default: its first).")
@click.option(
    "-r", "--rule", "select", multiple=True, metavar="ID", help="Only this rule; repeatable."
)
@output_option()
@rules_options("Convert only the rules given with --rules.")
def convert(
    target: str,
    fmt: str | None,
    select: tuple[str, ...],
    output: Path | None,
    rule_dirs: tuple[Path, ...],
    no_default_rules: bool,
) -> None:
    """Convert the pack (or the rules given with -r) to TARGET.

    A rule that cannot be converted (an unmapped field, a construct the target lacks) is
    reported with its file and line; the others still convert, and the exit code is 3.
    """
    chosen = TARGETS[target]
    fmt = fmt or chosen.formats[0]
    if fmt not in chosen.formats:
        raise UsageError(
            f"target {target} has no format {fmt!r}", hint=f"use {', '.join(chosen.formats)}"
        )
    check_rules_options(rule_dirs, no_default_rules)
    pack = load_pack(list(rule_dirs), include_builtin=not no_default_rules, select=select)
    rules = [r for r in pack.rules if r.id in pack.selected or (select and r.name in select)]
    result = convert_pack(pack, chosen, fmt, rules)

    def write(handle: TextIO) -> None:
        handle.write(result.text.rstrip("\n") + "\n" if result.text else "")

    write_output(output, write)
    for error in [*pack.errors, *result.errors]:
        click.echo(f"rule error: {error}", err=True)
    for name, why in result.skipped:
        click.echo(f"skipped {name}: {why}", err=True)
    wanted = len(rules) - len(result.skipped)
    click.echo(f"{len(result.converted)} of {wanted} rules converted to {target}", err=True)
    if pack.errors or result.errors:
        sys.exit(3)
