"""Linux auditd raw logs (audit.log) (placeholder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from imagehunt.sources.base import Head
from imagehunt.sources.problems import ReadProblems

FORMAT = "auditd"


def sniff(head: Head) -> bool:
    """Placeholder: never claims a file."""
    return False


def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Placeholder."""
    raise NotImplementedError(FORMAT)
