"""`imagehunt rules list|show`: the pack, with each rule's triage text."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from imagehunt.rulepack import load_pack


@click.group()
def rules() -> None:
    """List the rule pack or show one rule with its investigation guide and playbook."""


@rules.command("list")
@click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Also list your own Sigma rules from this folder.",
)
def list_rules(rule_dirs: tuple[Path, ...]) -> None:
    """One line per rule: slug, level, branch, title, UUID."""
    pack = load_pack(list(rule_dirs))
    ordered = sorted(pack.rules, key=lambda r: r.name)
    console = Console()
    if not console.is_terminal:  # scripts get one tab-separated line per rule
        for rule in ordered:
            click.echo(
                "\t".join((rule.name, rule.ref.level, rule.ref.branch, rule.id, rule.ref.title))
            )
    else:
        table = Table(title=f"imagehunt rule pack {pack.version}")
        for column in ("name", "level", "branch", "title", "id"):
            table.add_column(column, overflow="fold")
        for rule in ordered:
            table.add_row(
                *(
                    Text(v)
                    for v in (rule.name, rule.ref.level, rule.ref.branch, rule.ref.title, rule.id)
                )
            )
        console.print(table)
    for error in pack.errors:
        click.echo(f"rule error: {error}", err=True)


@rules.command("show")
@click.argument("rule_id")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, path_type=Path))
def show_rule(rule_id: str, rule_dirs: tuple[Path, ...]) -> None:
    """Show RULE_ID (slug or UUID): metadata, investigation guide, response playbook, YAML."""
    pack = load_pack(list(rule_dirs))
    rule = pack.by_ref(rule_id)
    out = Console(highlight=False)
    out.print(Text(f"{rule.ref.title}", style="bold"))
    for label, value in (
        ("name", rule.name),
        ("id", rule.id),
        ("level", rule.ref.level),
        ("branch", rule.ref.branch),
        ("tags", ", ".join(rule.ref.tags)),
        ("file", rule.path),
    ):
        out.print(Text(f"{label:8} {value}"))
    if rule.escalate_same_process:
        out.print(
            Text(
                f"{'escalate':8} {rule.escalate_same_process} when the same process does every step"
            )
        )
    sections = (
        ("Description", rule.description),
        ("False positives", "\n".join(f"- {f}" for f in rule.falsepositives)),
        ("Investigation guide", rule.investigation_guide),
        ("Response playbook", rule.response_playbook),
    )
    for title, body in sections:
        if body:
            out.print(Text(f"\n{title}", style="bold"))
            out.print(Text(body))
    out.print(Text("\nRule (Sigma YAML)", style="bold"))
    out.print(Text(Path(rule.path).read_text(encoding="utf-8")))
