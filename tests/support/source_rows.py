"""What the source tests share: a file's rows and problems (``sniff.read_rows``), its scan
hits, its sniffing head."""

from __future__ import annotations

from pathlib import Path

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack
from imagehunt.sources.base import Head
from imagehunt.sources.files import read_head
from imagehunt.sources.inputs import Input


def scan_hits(
    pack: RulePack, path: Path, fmt: str, display: str | None = None
) -> list[tuple[str, str, int]]:
    """Sorted (rule, file, line) of the first evidence of every alert of a scan of ``path``."""
    outcome = run_scan(pack, [Input(path, display or path.name, fmt)])
    return sorted((a.rule.name, a.evidence[0].file, a.evidence[0].line) for a in outcome.alerts)


def head_of(path: Path) -> Head:
    """The head the sniffer looks at: the lower-cased name without ``.gz``, the first bytes."""
    return Head(name=path.name.lower().removesuffix(".gz"), data=read_head(path))
