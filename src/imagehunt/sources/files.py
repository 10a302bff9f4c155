"""Opening inputs: ``.gz`` is transparent, every read is bounded."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

MAX_LINE_BYTES = 8 * 1024 * 1024  # longest line (or record) any source accepts
HEAD_BYTES = 64 * 1024  # what sniffing looks at


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
