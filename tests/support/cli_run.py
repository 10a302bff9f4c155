"""Run the imagehunt console entry point in-process and capture exit code and streams."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from imagehunt.cli.main import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> CliResult:
    """Call ``imagehunt ARGS`` like the console script does."""
    saved = sys.argv
    sys.argv = ["imagehunt", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = saved
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
