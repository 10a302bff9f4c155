"""Opening inputs: ``.gz`` is transparent, every read is bounded."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

MAX_LINE_BYTES = 8 * 1024 * 1024  # longest line (or record) any source accepts
HEAD_BYTES = 64 * 1024  # what sniffing looks at
_SKIP_CHUNK = 1 << 20  # an over-long line is skipped in pieces of this size


GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes, whatever its name."""
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_binary(path: Path) -> IO[bytes]:
    """Binary reader of ``path``, gunzipping on the fly when the content is gzip."""
    if is_gzip(path):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of the (decompressed) content."""
    with open_binary(path) as handle:
        return handle.read(size)


def numbered_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line without its newline) for every line."""
    for number, raw in enumerate(handle, start=1):
        yield number, raw.rstrip(b"\r\n")


def bounded_lines(
    handle: IO[bytes], limit: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | None]]:
    """(line number, raw line) for every line; None for a line longer than ``limit`` bytes,
    which is skipped without being held in memory."""
    number = 0
    while raw := handle.readline(limit + 1):
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while chunk := handle.readline(_SKIP_CHUNK):
                if chunk.endswith(b"\n"):
                    break
            yield number, None
        else:
            yield number, raw
