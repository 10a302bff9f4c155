"""`imagehunt validate`: the coverage matrix of the five atomic tests, or a user's EQL."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console

from imagehunt.alerts.atomic import write_atomic, write_output
from imagehunt.cli.options import output_option


@click.command()
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="Format of the matrix.",
)
@output_option("the matrix")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the matrix as an HTML page.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Emulation seed.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the generated telemetry in this folder (default: a temp folder, removed).",
)
@click.option(
    "--eql",
    "eql_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Instead of the pack, run your own EQL query (file) over each test's ECS events.",
)
def validate(
    fmt: str,
    output: Path | None,
    html_file: Path | None,
    seed: int,
    keep: Path | None,
    eql_file: Path | None,
) -> None:
    """Run the pack over every atomic test in every format and print the coverage matrix.

    Each cell names the rules that fired on the attack, the first alert's evidence line, and
    what the seeds' QRadar and Elastic queries would have done. Exit 1 when a test that
    should be detected is not.
    """
    if eql_file is not None:
        from imagehunt.cli.validate_eql import run_eql_command

        run_eql_command(eql_file, seed, fmt, output)
        return
    from imagehunt.validate import baselines, report
    from imagehunt.validate.matrix import run_matrix

    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        matrix = run_matrix(keep, seed)
    else:
        with tempfile.TemporaryDirectory(prefix="imagehunt-validate-") as tmp:
            matrix = run_matrix(Path(tmp), seed)
    eql_error = baselines.eql_parse_error()

    def write(handle: TextIO) -> None:
        if fmt == "json":
            handle.write(report.to_json(matrix, eql_error))
        elif fmt == "markdown":
            handle.write(report.to_markdown(matrix, eql_error))
        else:
            report.print_table(matrix, Console(file=handle, width=200), eql_error)

    write_output(output, write)
    if html_file is not None:
        page = report.to_html(matrix, eql_error)

        def write_page(handle: TextIO) -> None:
            handle.write(page)

        write_atomic(html_file, write_page)
    detected = len(matrix.cells) - len(matrix.undetected)
    click.echo(f"{detected} of {len(matrix.cells)} test x format cells detected", err=True)
    for cell in matrix.undetected:
        click.echo(f"missed: test {cell.test} in {cell.fmt}: {', '.join(cell.missing)}", err=True)
    if matrix.undetected:
        sys.exit(1)
