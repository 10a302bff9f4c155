"""Normalization shared by the exact path and every Python-side source."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from imagehunt import schema
from imagehunt.engine.detect import run_scan
from imagehunt.engine.scan import FAST_PATH_MIN_BYTES, TimeWindow
from imagehunt.rulepack import load_pack
from imagehunt.sources import falco
from imagehunt.sources.ecs import field_sql
from imagehunt.sources.inputs import Input
from imagehunt.sources.normalize import ascii_int, normalize_ecs, to_integer, to_timestamp
from support.events import BENIGN, MINER, event, write_lines

# Texts a hostile or sloppy producer may put where a port or pid is expected.
INTEGER_TEXTS = [
    "3333",
    " 3333 ",
    "+3333",
    "-3333",
    "03333",
    "\t7\n",
    "3333.0",
    "3.333e3",
    ".5e1",
    "5.",
    "1_000",
    "--3",
    "+-3",
    "-+3",
    "3-",
    "3 3",
    "1,000",
    "0x10",
    "inf",
    "-inf",
    "nan",
    "1e400",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "\u0663\u0663\u0663\u0663",
    "\u00a03333",
    "3333\u2003",
    "",
    " ",
    "+",
    "-",
    ".",
    "e3",
]


@pytest.mark.parametrize("text", INTEGER_TEXTS)
def test_integer_text_is_read_as_the_fast_path_sql_reads_it(text: str) -> None:
    """The exact path (Python) and the fast path (DuckDB SQL) give the same port for the same
    text, and a malformed number is no integer rather than an exception."""
    sql = (
        f"SELECT {field_sql(schema.field('destination.port'))} FROM (SELECT "
        'struct_pack(port := ?::VARCHAR) AS "raw:destination", '
        'NULL::VARCHAR AS "raw:destination.port")'
    )
    expected = duckdb.connect().execute(sql, [text]).fetchone()
    assert expected is not None
    assert to_integer(text) == expected[0]


def test_malformed_port_leaves_the_field_empty_and_keeps_the_rest() -> None:
    row = normalize_ecs({"destination": {"port": "--3", "ip": "203.0.113.9"}})
    assert "destination.port" not in row
    assert row["destination.ip"] == "203.0.113.9"


def test_malformed_number_does_not_stop_the_scan(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "ecs.ndjson",
        [
            event(MINER, **{"process.pid": "+-3", "event.id": "bad-pid"}),
            event(MINER, **{"event.id": "good"}),
        ],
    )
    outcome = run_scan(load_pack(select=["miner_process"]), [Input(path, str(path), "ecs")])
    assert [a.evidence[0].line for a in outcome.alerts] == [1, 2]
    assert outcome.alerts[0].evidence[0].event_id == "bad-pid"


EPOCH_TEXTS = [
    "1763632800000",
    " 1763632800000 ",
    "1763632800000.5",
    "1763632800000.",
    "\u00b2",
    "\u0663\u0663",
    "99999999999999999999999",
    "-5",
    "1e3",
]


@pytest.mark.parametrize("text", EPOCH_TEXTS)
def test_epoch_text_is_read_as_the_fast_path_sql_reads_it(text: str) -> None:
    """Epoch milliseconds given as text: same instant on both paths, and a character that
    only looks like a digit ("²") is no time rather than an exception."""
    sql = (
        f"SELECT epoch_us({field_sql(schema.field('@timestamp'))}) "
        'FROM (SELECT ?::VARCHAR AS "raw:@timestamp")'
    )
    expected = duckdb.connect().execute(sql, [text]).fetchone()
    assert expected is not None
    got = to_timestamp(text)
    assert (None if got is None else round(got.timestamp() * 1_000_000)) == expected[0]


def test_a_huge_epoch_in_one_line_keeps_the_fast_path(tmp_path: Path) -> None:
    """DuckDB raised on an epoch beyond its range, which threw the whole file off the fast
    path whenever the time was read (--since); the line is now an event without a time."""
    path = write_lines(
        tmp_path / "big.ndjson",
        [
            event(MINER, **{"@timestamp": "99999999999999999999999", "event.id": "huge"}),
            event(MINER, **{"event.id": "in-window"}),
            *[event(BENIGN, **{"event.id": f"b{i}"}) for i in range(12000)],
        ],
    )
    assert path.stat().st_size >= FAST_PATH_MIN_BYTES
    since = TimeWindow(since=datetime(2026, 1, 1, tzinfo=UTC))
    outcome = run_scan(load_pack(select=["miner_process"]), [Input(path, str(path), "ecs")], since)
    assert [r.path_taken for r in outcome.inputs] == ["fast"]
    assert [a.evidence[0].line for a in outcome.alerts] == [2]


def test_integer_text_longer_than_python_reads_is_no_integer() -> None:
    """int() refuses text over 4,300 digits; such a pid was a traceback, now it is empty,
    as the SQL's BIGINT cast makes it (checked against DuckDB like the texts above)."""
    text = "7" * 5000
    assert to_integer(text) is None
    assert to_integer("0" * 5000 + "42") == 42
    assert normalize_ecs({"process": {"pid": text, "name": "x"}}) == {"process.name": "x"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123", 123),
        ("007", 7),
        ("\u00b2", None),
        ("\u0663", None),
        ("-1", None),
        ("", None),
        ("1" * 5000, None),
        ("0" * 5000 + "9", 9),
    ],
)
def test_ascii_int_takes_ascii_digits_only(text: str, expected: int | None) -> None:
    assert ascii_int(text) == expected


def test_falco_time_of_digit_look_alikes_is_no_time() -> None:
    """Falco's epoch-nanosecond text went through str.isdigit and int(): "²" raised."""
    assert falco.alert_time("\u00b2") is None
    assert falco.alert_time("1763632800000000000") == datetime(2025, 11, 20, 10, 0, tzinfo=UTC)
