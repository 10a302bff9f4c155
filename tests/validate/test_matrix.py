"""The coverage matrix: every test × format detected, baselines as the seeds would do,
benign-only emulations quiet, docs/validation.md current."""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagehunt.alerts.model import level_rank
from imagehunt.emulate.environment import validation_config
from imagehunt.emulate.scenario import Scenario
from imagehunt.emulate.tests import FORMATS, TESTS, get_test
from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import load_pack
from imagehunt.sources.inputs import Input
from imagehunt.validate import baselines, report
from imagehunt.validate import matrix as matrix_module
from imagehunt.validate.matrix import Matrix, render, run_cell, run_matrix

ROOT = Path(__file__).resolve().parents[2]
INVISIBLE = "invisible: format '{}' arrives under no LOGSOURCETYPEID the query lists"

# What each seed query does on the attack's events of each cell, and why.
EXPECTED_BASELINES: dict[tuple[int, str], tuple[str, str]] = {
    # xmrig by name: the EQL's case-sensitive `in` holds for lowercase "xmrig"
    (1, "ecs"): (INVISIBLE.format("ecs"), "process"),  # A7: Elastic data is not 12/347/433
    (1, "auditd"): ("MinerProcessExecution", "process"),  # CASE keeps only the first label (A6)
    (1, "sysmon"): ("MinerProcessExecution", "process"),
    (1, "falco"): (INVISIBLE.format("falco"), "process"),
    (1, "docker"): (INVISIBLE.format("docker"), "missed"),  # no process event, no image branch
    # curl's argument matches "*minexmr*"; Defend connections are event.type start (E10) and
    # the DNS names are exact apex names (E7), so only the process branch holds on ECS
    (2, "ecs"): (INVISIBLE.format("ecs"), "process"),
    (2, "auditd"): ("MinerCommandLineArgs, MiningPoolNetworkConnection", "process, network"),
    (2, "sysmon"): ("MinerCommandLineArgs, MiningPoolNetworkConnection", "process, network"),
    (2, "winlogbeat"): ("MinerCommandLineArgs, MiningPoolNetworkConnection", "process, network"),
    (2, "zeek"): (INVISIBLE.format("zeek"), "network"),  # pool.minexmr.com is not "minexmr.com"
    (3, "docker"): (INVISIBLE.format("docker"), "missed"),
    (3, "ecs"): (INVISIBLE.format("ecs"), "missed"),  # wget is no miner name; E10 again
    # 127.0.0.1:3333: the AQL excludes 127.%; the EQL's `:` "127.0.0.0/8" is a string (E11)
    (3, "auditd"): ("missed", "network"),
    (3, "sysmon"): ("missed", "network"),
    (4, "cloudtrail"): ("AWSInstanceLaunch", "missed"),  # EQL has no CloudTrail branch (E16)
    # credentials on a command line and an exfil port: neither seed looks for them
    (5, "ecs"): (INVISIBLE.format("ecs"), "missed"),
    (5, "auditd"): ("missed", "missed"),
    (5, "sysmon"): ("missed", "missed"),
    (5, "docker"): (INVISIBLE.format("docker"), "missed"),
    (5, "k8s"): (INVISIBLE.format("k8s"), "missed"),
}


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with tempfile.TemporaryDirectory() as tmp:
        yield run_matrix(Path(tmp), seed=0)


def test_every_test_in_every_format_is_detected(matrix: Matrix) -> None:
    cells = {(c.test, c.fmt) for c in matrix.cells}
    assert cells == {(t.number, f) for t in TESTS for f in t.formats}
    assert [(c.test, c.fmt, c.missing) for c in matrix.undetected] == []
    for cell in matrix.cells:
        assert set(cell.expected) <= set(cell.fired_rules)
        assert cell.problems == 0, cell
        assert cell.evidence.startswith(f"{cell.file}:"), cell


def test_no_alert_on_the_benign_part_of_any_attack_file(matrix: Matrix) -> None:
    assert [(c.test, c.fmt, c.benign_alerts) for c in matrix.cells if c.benign_alerts] == []


def test_loopback_connection_of_test3_never_alerts_on_its_own(matrix: Matrix) -> None:
    for cell in matrix.cells:
        if cell.test == 3 and cell.fmt != "docker":
            assert cell.fired_rules == ("container_downloader",)
            assert "loopback is never a pool" in cell.note


@pytest.mark.parametrize("key", sorted(EXPECTED_BASELINES))
def test_baselines_do_what_the_seed_queries_would(matrix: Matrix, key: tuple[int, str]) -> None:
    cell = next(c for c in matrix.cells if (c.test, c.fmt) == key)
    assert (cell.baselines.aql, cell.baselines.eql_intended) == EXPECTED_BASELINES[key]
    assert cell.baselines.eql_as_written == "does not parse"


def test_every_cell_has_an_expected_baseline(matrix: Matrix) -> None:
    assert {(c.test, c.fmt) for c in matrix.cells} == set(EXPECTED_BASELINES)


def test_benign_only_emulations_give_nothing_at_medium_or_above(tmp_path: Path) -> None:
    """The generators are not tuned to the rules: 20 seeds of the background, every format."""
    pack = load_pack()
    loud = []
    for seed in range(20):
        inputs = []
        for fmt in FORMATS:
            _, text = render(None, fmt, seed)
            path = tmp_path / f"seed{seed}-{fmt}.log"
            path.write_text(text, encoding="utf-8")
            if text:
                inputs.append(Input(path, path.name, fmt))
        outcome = run_scan(pack, inputs, config=validation_config())
        assert outcome.problems == 0
        loud += [
            (seed, a.rule.name, a.rule.level, a.evidence[0].file)
            for a in outcome.alerts
            if level_rank(a.rule.level) >= level_rank("medium")
        ]
    assert loud == []


def test_docs_validation_md_is_the_current_matrix(matrix: Matrix) -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_validation_doc.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    doc = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    committed = doc.split(gen.BEGIN, 1)[1].split(gen.END, 1)[0].strip("\n")
    current = report.to_markdown(matrix, baselines.eql_parse_error()).strip("\n")
    assert committed == current, "run tools/gen_validation_doc.py"


def test_a_malformed_line_is_counted_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cell's problems are the scan's: the file is read twice, its problems counted once."""

    def render_with_a_bad_line(
        test: int | None, fmt: str, seed: int, *, attack: bool = True
    ) -> tuple[Scenario, str]:
        scenario, text = render(test, fmt, seed, attack=attack)
        return scenario, text + "{not json\n"

    monkeypatch.setattr(matrix_module, "render", render_with_a_bad_line)
    cell = run_cell(get_test(1), "ecs", 0, tmp_path, load_pack())
    assert cell.problems == 1
    assert cell.detected
