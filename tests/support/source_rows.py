"""What the source tests share: a file's rows and problems, its scan hits, its sniffing head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack
from imagehunt.sources.base import Head
from imagehunt.sources.files import read_head
from imagehunt.sources.inputs import Input
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.sniff import source_for


def read_rows(
    path: Path, fmt: str, display: str | None = None
) -> tuple[list[dict[str, Any]], ReadProblems]:
    """Every row the ``fmt`` reader gives for ``path`` (shown as ``display``, else its name)."""
    problems = ReadProblems()
    batches = source_for(fmt).read(path, display or path.name, problems)
    return [row for batch in batches for row in batch.to_pylist()], problems


def scan_hits(
    pack: RulePack, path: Path, fmt: str, display: str | None = None
) -> list[tuple[str, str, int]]:
    """Sorted (rule, file, line) of the first evidence of every alert of a scan of ``path``."""
    outcome = run_scan(pack, [Input(path, display or path.name, fmt)])
    return sorted((a.rule.name, a.evidence[0].file, a.evidence[0].line) for a in outcome.alerts)


def head_of(path: Path) -> Head:
    """The head the sniffer looks at: the lower-cased name without ``.gz``, the first bytes."""
    return Head(name=path.name.lower().removesuffix(".gz"), data=read_head(path))
