"""What every source module provides, and the start of a file that sniffers look at."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import orjson
import pyarrow as pa

from imagehunt.sources.problems import ReadProblems

HEAD_LINES = 50


@dataclass(frozen=True)
class Head:
    """The start of an input, as sniffers see it."""

    name: str  # file name, lower case, without ``.gz``
    data: bytes  # first 64 KiB of the decompressed content

    @cached_property
    def lines(self) -> list[bytes]:
        """First non-blank lines, stripped (the last one may be cut by the 64 KiB limit)."""
        found = [line.strip() for line in self.data.splitlines()[: HEAD_LINES * 4]]
        return [line for line in found if line][:HEAD_LINES]

    @cached_property
    def first_json(self) -> dict[str, Any] | None:
        """First line parsed as a JSON object, if it is one."""
        for line in self.lines[:3]:
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            return doc if isinstance(doc, dict) else None
        return None


class Source(Protocol):
    """What every source module provides."""

    FORMAT: str

    def sniff(self, head: Head) -> bool:
        """True when ``head`` looks like this format."""

    def read(self, path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
        """Normalized batches of every record; malformed ones go to ``problems``."""
