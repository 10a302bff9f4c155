"""Option parsing shared by verbs: levels, times, the output file, the user's rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from imagehunt.alerts.model import LEVELS

LEVEL_CHOICE = click.Choice(LEVELS, case_sensitive=False)
_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(value: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (UTC when no zone is given) or a relative age such as 90m, 24h, 7d."""
    match = _RELATIVE.match(value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is neither ISO 8601 (2026-11-22T10:00:00Z) nor an age (24h, 7d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class TimeParam(click.ParamType):  # type: ignore[type-arg]
    """click type for --since/--until."""

    name = "TIME"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        return parse_time(str(value))


def output_option(what: str = "") -> Callable[[Any], Any]:
    """``-o/--output FILE``: where the verb's results go instead of stdout (written atomically)."""
    subject = f" {what}" if what else ""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Write{subject} to FILE (atomically) instead of stdout.",
    )


def rules_options(no_default_help: str) -> Callable[[Any], Any]:
    """``--rules DIR`` (repeatable) and ``--no-default-rules``, whose help says what then runs."""
    rules = click.option(
        "--rules",
        "rule_dirs",
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help="Folder (or file) of your own Sigma rules, added to the pack.",
    )
    no_default = click.option("--no-default-rules", is_flag=True, help=no_default_help)

    def decorate(command: Any) -> Any:
        return rules(no_default(command))

    return decorate


def check_rules_options(rule_dirs: Sequence[Path], no_default_rules: bool) -> None:
    """Usage error for ``--no-default-rules`` without ``--rules``: there would be no rule."""
    if no_default_rules and not rule_dirs:
        raise click.UsageError("--no-default-rules needs --rules DIR")
