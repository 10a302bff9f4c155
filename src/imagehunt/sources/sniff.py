"""Which format an input is, from its content (the file name is only a hint).

Every source module has ``FORMAT`` (its name, also written to ``_format``), ``sniff(head)``
(does this content look like mine?) and ``read(path, display, problems)`` (normalized Arrow
batches). ``SOURCES`` lists them in the order they are asked: the most specific first, the
generic ECS reader last.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from imagehunt.sources import (
    auditd,
    cloudtrail,
    docker,
    ecs,
    evtx,
    falco,
    k8s,
    qradar,
    sysmon,
    winlogbeat,
    zeek,
)
from imagehunt.sources.base import Head, Source
from imagehunt.sources.files import read_head
from imagehunt.sources.problems import ReadProblems

_MODULES: tuple[ModuleType, ...] = (
    evtx,
    cloudtrail,
    k8s,
    docker,
    falco,
    zeek,
    qradar,
    sysmon,
    winlogbeat,
    auditd,
    ecs,
)
SOURCES: tuple[Source, ...] = tuple(cast(Source, module) for module in _MODULES)
BY_FORMAT: dict[str, Source] = {source.FORMAT: source for source in SOURCES}


def source_for(fmt: str) -> Source:
    """The source module of format ``fmt`` (KeyError if there is none)."""
    return BY_FORMAT[fmt]


def read_rows(
    path: Path, fmt: str, display: str | None = None
) -> tuple[list[dict[str, Any]], ReadProblems]:
    """Every normalized row the ``fmt`` reader gives for ``path`` (shown as ``display``, else
    its name), with the problems it counted. For small files: the rows are held in memory."""
    problems = ReadProblems()
    batches = source_for(fmt).read(path, display or path.name, problems)
    return [row for batch in batches for row in batch.to_pylist()], problems


def sniff(path: Path) -> tuple[str | None, str]:
    """Format of a file from its content: (format, "") or (None, reason)."""
    try:
        data = read_head(path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        return None, f"cannot read: {exc}"
    name = path.name.lower().removesuffix(".gz")
    head = Head(name=name, data=data)
    if not data.strip():
        return None, "empty file"
    for source in SOURCES:
        if source.sniff(head):
            return source.FORMAT, ""
    if b"\x00" in data[:4096]:
        return None, "binary content (format not recognised)"
    if head.first_json is not None:
        return None, "JSON without the fields of any supported format (format not recognised)"
    return None, "no supported format recognised in the first lines"
