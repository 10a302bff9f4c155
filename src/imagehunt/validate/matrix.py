"""The coverage matrix: every atomic test in every format it exists in, scanned for real.

For each cell the test's telemetry is generated (``emulate``), written to a file and scanned
with the pack and the emulated organisation's config, exactly as ``imagehunt scan`` would.
Alerts are attributed to the attack or to the benign background by the time of their event
(``Scenario.is_attack_time``). The two seed queries (``baselines``) are evaluated on the
attack's rows of the same file, so a cell shows what the stock SIEM rules would have done.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from imagehunt.alerts.model import Alert
from imagehunt.emulate.environment import validation_config
from imagehunt.emulate.scenario import Scenario, build
from imagehunt.emulate.tests import EXTENSIONS, TESTS, AtomicTest
from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources.inputs import Input
from imagehunt.sources.sniff import read_rows
from imagehunt.validate import baselines

EVIDENCE_TEXT_CHARS = 160


class Writer(Protocol):
    """A format's emulation writer module (emulate/formats/<format>.py)."""

    FORMAT: str

    def write(self, scenario: Scenario) -> str:
        """The complete file text of the scenario in this format."""
        ...


def writer_for(fmt: str) -> Writer:
    """The writer module of ``fmt`` (KeyError for a format without one)."""
    if fmt not in EXTENSIONS:
        raise KeyError(fmt)
    return cast(Writer, importlib.import_module(f"imagehunt.emulate.formats.{fmt}"))


def file_name(test: int | None, fmt: str) -> str:
    """The name a test's telemetry is written under, e.g. ``test1-auditd.log``."""
    stem = f"test{test}" if test is not None else "benign"
    return f"{stem}-{fmt}.{EXTENSIONS[fmt]}"


def render(test: int | None, fmt: str, seed: int, *, attack: bool = True) -> tuple[Scenario, str]:
    """The scenario of ``test`` in ``fmt`` and its text."""
    scenario = build(test, fmt, seed, attack=attack)
    return scenario, writer_for(fmt).write(scenario)


@dataclass(frozen=True)
class Baselines:
    """What the two seed queries do on the attack's rows of one cell."""

    aql: str  # the CASE labels of matching rows, "missed", or why the rows are invisible
    eql_as_written: str
    eql_intended: str  # branch names, or "missed"


@dataclass(frozen=True)
class Cell:
    """One test in one format: what was expected, what fired, where, and the baselines."""

    test: int
    fmt: str
    file: str
    expected: tuple[str, ...]
    fired: tuple[tuple[str, str], ...]  # (rule, level) of alerts on the attack's events
    benign_alerts: tuple[tuple[str, str], ...]  # (rule, level) of alerts on benign events
    evidence: str  # "file:line: text" of the first attack alert's first evidence
    note: str
    baselines: Baselines
    rows: int
    problems: int

    @property
    def fired_rules(self) -> tuple[str, ...]:
        """The names of the rules that fired on the attack, in order of first evidence."""
        return tuple(dict.fromkeys(rule for rule, _ in self.fired))

    @property
    def missing(self) -> tuple[str, ...]:
        """Expected rules that did not fire."""
        return tuple(r for r in self.expected if r not in self.fired_rules)

    @property
    def detected(self) -> bool:
        """Every expected rule fired on the attack."""
        return not self.missing

    def to_json(self) -> dict[str, Any]:
        """The cell as a JSON object (``validate -f json``)."""
        return {
            "test": self.test,
            "format": self.fmt,
            "file": self.file,
            "detected": self.detected,
            "expected": list(self.expected),
            "fired": [{"rule": r, "level": lv} for r, lv in self.fired],
            "missing": list(self.missing),
            "benign_alerts": [{"rule": r, "level": lv} for r, lv in self.benign_alerts],
            "evidence": self.evidence,
            "note": self.note,
            "rows": self.rows,
            "problems": self.problems,
            "baselines": {
                "qradar_aql": self.baselines.aql,
                "elastic_eql_as_written": self.baselines.eql_as_written,
                "elastic_eql_intended": self.baselines.eql_intended,
            },
        }


@dataclass
class Matrix:
    """All cells of one validation run."""

    seed: int
    cells: list[Cell] = field(default_factory=list)

    @property
    def undetected(self) -> list[Cell]:
        """Cells whose test the pack did not catch."""
        return [c for c in self.cells if not c.detected]


def _baselines(attack_rows: Sequence[dict[str, Any]]) -> Baselines:
    results = [baselines.aql_result(row) for row in attack_rows]
    visible = [r for r in results if r.visible]
    if not results:
        aql = "no rows"
    elif not visible:
        aql = results[0].reason
    else:
        labels = [r.label for r in visible if r.label is not None]
        aql = ", ".join(dict.fromkeys(labels)) if labels else "missed"
    branches = [b for row in attack_rows for b in baselines.eql_intended_branches(row)]
    intended = ", ".join(dict.fromkeys(branches)) if branches else "missed"
    return Baselines(aql, "does not parse", intended)


def _line_text(file_lines: Sequence[str], line: int) -> str:
    """Line ``line`` (1-based) of the file, cut to EVIDENCE_TEXT_CHARS; "" when out of range."""
    if not 1 <= line <= len(file_lines):
        return ""
    text = file_lines[line - 1].rstrip("\r\n")
    if len(text) > EVIDENCE_TEXT_CHARS:
        return text[: EVIDENCE_TEXT_CHARS - 1] + "…"
    return text


def run_cell(test: AtomicTest, fmt: str, seed: int, directory: Path, pack: RulePack) -> Cell:
    """Generate, write and scan one cell."""
    scenario, text = render(test.number, fmt, seed)
    path = directory / file_name(test.number, fmt)
    path.write_text(text, encoding="utf-8")
    outcome = run_scan(pack, [Input(path, path.name, fmt)], config=validation_config())
    attack: list[Alert] = []
    benign: list[Alert] = []
    for alert in outcome.alerts:
        (attack if scenario.is_attack_time(alert.timestamp) else benign).append(alert)
    attack.sort(key=lambda a: (a.evidence[0].line, a.rule.name))
    evidence = ""
    if attack:
        first = attack[0].evidence[0]
        line_text = _line_text(text.split("\n"), first.line)
        evidence = f"{first.file}:{first.line}: {line_text}"
    rows, _ = read_rows(path, fmt)
    attack_rows = [r for r in rows if scenario.is_attack_time(r.get("@timestamp"))]
    return Cell(
        test=test.number,
        fmt=fmt,
        file=path.name,
        expected=test.expected_rules[fmt],
        fired=tuple(dict.fromkeys((a.rule.name, a.rule.level) for a in attack)),
        benign_alerts=tuple((a.rule.name, a.rule.level) for a in benign),
        evidence=evidence,
        note=test.notes.get(fmt, ""),
        baselines=_baselines(attack_rows),
        rows=len(rows),
        problems=outcome.problems,
    )


def run_matrix(
    directory: Path,
    seed: int = 0,
    tests: Sequence[AtomicTest] = TESTS,
    pack: RulePack | None = None,
) -> Matrix:
    """Every test × format of ``tests``; telemetry files are written under ``directory``."""
    pack = pack or load_pack()
    matrix = Matrix(seed=seed)
    for test in tests:
        for fmt in test.formats:
            matrix.cells.append(run_cell(test, fmt, seed, directory, pack))
    return matrix
