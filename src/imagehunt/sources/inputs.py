"""Find the inputs of a scan: files, directories (recursively), ``-`` for stdin; sniff each."""

from __future__ import annotations

import gzip
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from imagehunt.sources.ecs import looks_like_ecs

SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Input:
    """One file to read: where it is, how alerts name it, and its sniffed format."""

    path: Path
    display: str
    format: str | None  # None: not recognised
    reason: str = ""


def _head(path: Path) -> bytes:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            return handle.read(SNIFF_BYTES)
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


def sniff(path: Path) -> tuple[str | None, str]:
    """Format of a file from its content: ("ecs", "") or (None, reason)."""
    try:
        head = _head(path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        return None, f"cannot read: {exc}"
    if not head.strip():
        return None, "empty file"
    if b"\x00" in head[:4096]:
        return None, "binary content"
    for raw in head.splitlines()[:50]:
        line = raw.strip()
        if not line:
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict) and looks_like_ecs(doc):
            return "ecs", ""
        if isinstance(doc, dict):
            return None, "JSON lines without ECS fields (format not supported yet)"
    return None, "no JSON object in the first lines (format not recognised)"


def expand(paths: Sequence[str], spool_dir: Path) -> Iterator[Input]:
    """Inputs for command-line arguments; ``-`` is stdin, spooled to a temporary file."""
    for arg in paths:
        if arg == "-":
            target = spool_dir / "stdin.ndjson"
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
