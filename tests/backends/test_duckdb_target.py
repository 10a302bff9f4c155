"""The `duckdb` target's queries run on DuckDB over the rule samples and select exactly the
events `imagehunt scan` reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from imagehunt.backends import duckdb_target
from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import PackRule, RulePack, load_pack
from imagehunt.sources.ecs import read_exact
from imagehunt.sources.inputs import Input
from imagehunt.sources.problems import ReadProblems

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
SAMPLES = sorted(RULES_DIR.glob("*/t[pn].ndjson"))


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


@pytest.fixture(scope="module")
def events() -> Iterator[duckdb.DuckDBPyConnection]:
    """A plain DuckDB connection (no imagehunt session) with every sample as `events`."""
    batches = [b for path in SAMPLES for b in read_exact(path, str(path), ReadProblems())]
    con = duckdb.connect()
    con.register("events_arrow", pa.Table.from_batches(batches))
    con.execute("CREATE TABLE events AS SELECT * FROM events_arrow")
    con.execute(duckdb_target.header("sql"))
    yield con
    con.close()


def _lines(con: duckdb.DuckDBPyConnection, sql: str) -> set[tuple[str, int]]:
    query = sql.rstrip().rstrip(";").replace("SELECT *", "SELECT _file, _line", 1)
    return {(str(f), int(n)) for f, n in con.execute(query).fetchall()}


def _detection_rules() -> list[str]:
    return sorted(r.name for r in load_pack().rules if not r.is_correlation)


@pytest.mark.parametrize("name", _detection_rules())
def test_detection_query_selects_what_scan_reports(
    name: str, pack: RulePack, events: duckdb.DuckDBPyConnection
) -> None:
    rule: PackRule = pack.by_ref(name)
    selected = _lines(events, duckdb_target.convert(rule, pack, "sql"))
    outcome = run_scan(load_pack(select=[name]), [Input(p, str(p), "ecs") for p in SAMPLES])
    reported = {(a.evidence[0].file, a.evidence[0].line) for a in outcome.alerts}
    tp = {(str(RULES_DIR / name / "tp.ndjson"), n) for _, n in _file_lines(name, "tp")}
    if rule.context_only:
        assert not reported and tp <= selected  # selects its context rows, never alerts
    elif rule.assessment:
        # SQL selects the launches; imagehunt's assessment then drops the trusted ones
        assert reported <= selected and tp <= selected
    else:
        assert selected == reported
        assert tp <= selected


def _file_lines(name: str, kind: str) -> Iterator[tuple[str, int]]:
    path = RULES_DIR / name / f"{kind}.ndjson"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            yield str(path), number


def test_correlation_query_finds_the_same_chains_and_levels(
    pack: RulePack, events: duckdb.DuckDBPyConnection
) -> None:
    rule = pack.by_ref("miner_then_pool")
    sql = duckdb_target.convert(rule, pack, "sql").rstrip().rstrip(";")
    folder = RULES_DIR / "miner_then_pool"
    files = [str(folder / "tp.ndjson"), str(folder / "tn.ndjson")]
    con = duckdb.connect()
    batches = [
        b
        for path in (folder / "tp.ndjson", folder / "tn.ndjson")
        for b in read_exact(path, str(path), ReadProblems())
    ]
    con.register("events", pa.Table.from_batches(batches))
    con.execute(duckdb_target.header("sql"))
    columns = "same_process, step0_file, step0_line, step1_file, step1_line"
    rows = con.execute(f"SELECT {columns} FROM ({sql})").fetchall()
    chains = {((r[1], r[2]), (r[3], r[4]), "critical" if r[0] else "high") for r in rows}
    outcome = run_scan(
        load_pack(select=["miner_then_pool"]), [Input(Path(f), f, "ecs") for f in files]
    )
    expected = {
        (
            (a.evidence[0].file, a.evidence[0].line),
            (a.evidence[1].file, a.evidence[1].line),
            a.level,
        )
        for a in outcome.alerts
        if a.rule.name == "miner_then_pool"
    }
    assert expected
    assert chains == expected


def test_the_whole_output_runs_as_one_script(pack: RulePack) -> None:
    from imagehunt.backends.registry import TARGETS
    from imagehunt.backends.targets import convert_pack

    result = convert_pack(pack, TARGETS["duckdb"], "sql", pack.rules)
    assert not result.errors
    con = duckdb.connect()
    con.register(
        "events_arrow", pa.Table.from_batches(list(read_exact(SAMPLES[0], "x", ReadProblems())))
    )
    con.execute("CREATE TABLE events AS SELECT * FROM events_arrow")
    con.execute(result.text)  # macros, then every query: all must parse and bind
    assert result.text.count("SELECT * FROM events WHERE") == len(pack.rules) - 1


def test_a_hostile_rule_value_stays_a_value(tmp_path: Path) -> None:
    rule_file = tmp_path / "hostile.yml"
    rule_file.write_text(
        "title: hostile\nname: hostile\nlogsource: {category: process_creation}\n"
        'detection:\n  sel:\n    process.name: "x\' OR 1=1 --"\n  condition: sel\n',
        encoding="utf-8",
    )
    pack = load_pack([rule_file], include_builtin=False)
    sql = duckdb_target.convert(pack.by_ref("hostile"), pack, "sql")
    assert "'x'' or 1=1 --'" in sql.lower()
