"""Entry point: wires the verbs; every verb lives in its own module."""

from __future__ import annotations

import sys

import click

from imagehunt import __version__
from imagehunt.cli.convert import convert
from imagehunt.cli.demo import demo
from imagehunt.cli.emulate import emulate
from imagehunt.cli.rules import rules
from imagehunt.cli.scan import scan
from imagehunt.cli.validate import validate
from imagehunt.errors import ImagehuntError

EXIT_CODES = """\b
Exit codes:
  0  ran; nothing at or above --fail-on
  1  alerts at or above --fail-on (validate: a test not detected)
  2  usage error
  3  rule or config error
  4  input error under --strict, or no readable input at all
"""


@click.group(epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imagehunt")
def cli() -> None:
    """imagehunt: find malicious container and cloud images (MITRE ATT&CK T1204.003) in logs."""


cli.add_command(scan)
cli.add_command(convert)
cli.add_command(rules)
cli.add_command(demo)
cli.add_command(emulate)
cli.add_command(validate)


def main() -> None:
    """Console script: run the CLI, turning imagehunt errors into a message and an exit code."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ImagehuntError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
