"""Find the inputs of a scan: files, directories (recursively), ``-`` for stdin; sniff each."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from imagehunt.sources.sniff import sniff


@dataclass(frozen=True)
class Input:
    """One file to read: where it is, how alerts name it, and its sniffed format."""

    path: Path
    display: str
    format: str | None  # None: not recognised
    reason: str = ""


def expand(paths: Sequence[str], spool_dir: Path) -> Iterator[Input]:
    """Inputs for command-line arguments; ``-`` is stdin, spooled to a temporary file."""
    for arg in paths:
        if arg == "-":
            target = spool_dir / "stdin"
            with target.open("wb") as out:
                shutil.copyfileobj(sys.stdin.buffer, out)
            fmt, reason = sniff(target)
            yield Input(target, "<stdin>", fmt, reason)
            continue
        path = Path(arg)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                fmt, reason = sniff(child)
                yield Input(child, str(child), fmt, reason)
        elif path.is_file():
            fmt, reason = sniff(path)
            yield Input(path, str(path), fmt, reason)
        else:
            yield Input(path, str(path), None, "no such file or directory")


def spool_directory() -> tempfile.TemporaryDirectory[str]:
    """A private temporary directory for stdin spooling."""
    return tempfile.TemporaryDirectory(prefix="imagehunt-")
