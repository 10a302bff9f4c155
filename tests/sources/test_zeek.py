"""Zeek conn.log and dns.log, TSV and JSON: mapping, header handling, rules end to end."""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources import zeek
from imagehunt.sources.base import Head
from imagehunt.sources.inputs import Input
from imagehunt.sources.sniff import read_rows, sniff
from support.corpus import corpus_dir
from support.events import MINER, write_lines
from support.source_rows import scan_hits

SAMPLES = Path(__file__).parent / "samples" / "zeek"
CONN_FIELDS = (
    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service conn_state local_orig local_resp"
)


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


def tsv(*lines: str) -> str:
    """TSV text: ``|`` in the arguments stands for a tab."""
    return "".join(line.replace("|", "\t") + "\n" for line in lines)


def test_conn_tsv_maps_a_network_connection() -> None:
    rows, problems = read_rows(SAMPLES / "conn.log", "zeek")
    first = rows[0]
    assert first["_line"] == 9
    assert first["@timestamp"] == datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC)
    assert first["event.category"] == ["network"]
    assert first["event.type"] == ["connection", "start"]
    assert (first["source.ip"], first["source.port"]) == ("172.17.0.2", 51234)
    assert (first["destination.ip"], first["destination.port"]) == ("45.9.148.1", 3333)
    assert first["network.transport"] == "tcp"
    assert first["network.protocol"] is None  # "-" is Zeek's unset marker
    assert first["network.direction"] == "egress"
    assert first["event.id"] == "CAbc1x2VqUo7dYp3Ka"
    assert first["host.ip"] == ["172.17.0.2"]
    assert first["host.name"] is None
    assert (first["event.module"], first["event.dataset"]) == ("zeek", "zeek.conn")
    assert first["observer.product"] == "zeek"
    assert rows[2]["network.protocol"] == "ssl"
    assert [r["_line"] for r in rows] == [9, 10, 11, 13]
    assert problems.first == [(12, "4 columns where #fields declares 21")]


def test_dns_tsv_maps_query_type_and_ip_answers() -> None:
    rows, problems = read_rows(SAMPLES / "dns.log", "zeek")
    assert problems.count == 0
    pool, aaaa, unanswered = rows
    assert pool["dns.question.name"] == "xmr.pool.minergate.com"
    assert pool["dns.question.type"] == "A"
    assert pool["dns.resolved_ip"] == ["94.130.164.163", "94.130.165.85"]  # CNAME dropped
    assert pool["event.type"] == ["protocol"]
    assert pool["network.protocol"] == "dns"
    assert (pool["destination.ip"], pool["destination.port"]) == ("10.0.0.53", 53)
    assert pool["event.dataset"] == "zeek.dns"
    assert aaaa["dns.resolved_ip"] == ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert unanswered["dns.question.name"] is None
    assert unanswered["dns.resolved_ip"] is None


def test_json_lines_dotted_keys_iso_and_epoch_times() -> None:
    rows, problems = read_rows(SAMPLES / "conn_dns.json", "zeek")
    assert problems.count == 0
    dns, conn = rows
    assert dns["event.dataset"] == "zeek.dns"
    assert dns["@timestamp"] == datetime(2026, 11, 20, 10, 0, 0, 500000, tzinfo=UTC)
    assert conn["event.dataset"] == "zeek.conn"
    assert conn["@timestamp"] == datetime.fromtimestamp(1795168805.25, tz=UTC)
    assert conn["network.direction"] == "egress"


def test_json_underscore_and_nested_id_keys(tmp_path: Path) -> None:
    underscore = {"ts": 1.5, "uid": "C1", "id_orig_h": "10.0.0.1", "id_orig_p": 1}
    underscore |= {"id_resp_h": "45.9.148.1", "id_resp_p": 3333, "proto": "tcp"}
    nested = {"ts": 2.5, "uid": "C2", "id": {"orig_h": "10.0.0.2", "resp_h": "1.2.3.4"}}
    nested |= {"query": "a.example"}
    rows, _ = read_rows(write_lines(tmp_path / "z.json", [underscore, nested]), "zeek")
    assert rows[0]["event.dataset"] == "zeek.conn"
    assert (rows[0]["destination.ip"], rows[0]["destination.port"]) == ("45.9.148.1", 3333)
    assert rows[0]["@timestamp"] == datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    assert rows[1]["event.dataset"] == "zeek.dns"
    assert rows[1]["source.ip"] == "10.0.0.2"


def test_conn_to_public_pool_port_fires_and_private_does_not(pack: RulePack) -> None:
    found = scan_hits(pack, SAMPLES / "conn.log", "zeek")
    # line 9: 45.9.148.1:3333, line 13: 185.71.66.39:14444 (S0 attempt); line 10 is 10.1.2.3
    assert found == [("pool_connection", "conn.log", 9), ("pool_connection", "conn.log", 13)]


def test_dns_query_for_pool_domain_fires(pack: RulePack) -> None:
    assert scan_hits(pack, SAMPLES / "dns.log", "zeek") == [("pool_dns", "dns.log", 9)]
    assert scan_hits(pack, SAMPLES / "conn_dns.json", "zeek") == [
        ("pool_connection", "conn_dns.json", 2),
        ("pool_dns", "conn_dns.json", 1),
    ]


def test_later_header_block_replaces_fields_separator_and_markers(
    tmp_path: Path, pack: RulePack
) -> None:
    tab_block = tsv(
        "#separator \\x09",
        "#set_separator|,",
        "#empty_field|(empty)",
        "#unset_field|-",
        "#path|conn",
        "#fields|" + CONN_FIELDS.replace(" ", "|"),
        "1795168800.0|C1|10.0.0.9|40000|10.2.3.4|3333|tcp|-|SF|T|T",
        "#close|2026-11-20-11-00-00",
    )
    pipe_block = (
        "#separator \\x7c\n"
        "#set_separator|;\n"
        "#empty_field|EMPTY\n"
        "#unset_field|NONE\n"
        "#path|dns\n"
        "#fields|ts|uid|id.orig_h|id.resp_h|id.resp_p|query|answers|qtype_name\n"
        "#types|time|string|addr|addr|port|string|vector[string]|string\n"
        "1795168801.0|C2|10.0.0.9|10.0.0.53|53|pool.minexmr.com|1.2.3.4;5.6.7.8|NONE\n"
        "1795168802.0|C3|10.0.0.9|10.0.0.53|53|EMPTY|EMPTY|A\n"
    )
    text = tab_block + pipe_block
    path = tmp_path / "mixed.log"
    path.write_text(text, encoding="utf-8")
    rows, problems = read_rows(path, "zeek")
    assert problems.count == 0
    assert [r["event.dataset"] for r in rows] == ["zeek.conn", "zeek.dns", "zeek.dns"]
    assert rows[0]["network.direction"] == "internal"
    assert rows[1]["dns.resolved_ip"] == ["1.2.3.4", "5.6.7.8"]
    assert rows[1]["dns.question.type"] is None
    assert rows[2]["dns.question.name"] is None  # empty string is not a name
    assert rows[2]["dns.resolved_ip"] is None
    assert scan_hits(pack, path, "zeek") == [("pool_dns", "mixed.log", 16)]


def test_escaped_bytes_and_other_paths(tmp_path: Path) -> None:
    text = tsv(
        "#separator \\x09",
        "#path|dns",
        "#fields|ts|uid|id.orig_h|query",
        "1.0|C1|10.0.0.1|caf\\xc3\\xa9.example\\x09tab",
        "#path|http",
        "#fields|ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|host",
        "2.0|C2|10.0.0.1|5000|45.9.148.1|3333|pool.example",
    )
    path = tmp_path / "x.log"
    path.write_text(text, encoding="utf-8")
    rows, problems = read_rows(path, "zeek")
    assert problems.count == 0
    assert rows[0]["dns.question.name"] == "café.example\ttab"
    http = rows[1]
    assert http["event.dataset"] == "zeek.http"
    assert http["event.category"] is None  # other logs: no category, so no rule fires
    assert http["destination.port"] == 3333


def test_malformed_lines_are_counted_and_neighbours_read(tmp_path: Path) -> None:
    good = {"ts": 1.0, "uid": "C1", "id.orig_h": "10.0.0.1", "query": "a.example"}
    lines: list[str | dict[str, Any]] = [
        "1.0\tC0\t10.0.0.1",  # data before any #fields
        good,
        "{not json",
        "[1, 2]",
        "",
        good,
    ]
    rows, problems = read_rows(write_lines(tmp_path / "bad.json", lines), "zeek")
    assert [r["_line"] for r in rows] == [2, 6]
    assert [line for line, _ in problems.first] == [1, 3, 4]
    assert "before any #fields" in problems.first[0][1]


def test_over_long_line_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek, "MAX_LINE_BYTES", 200)
    good = {"ts": 1.0, "uid": "C1", "id.orig_h": "10.0.0.1", "query": "a.example"}
    long_one = dict(good, query="x" * 300)
    rows, problems = read_rows(write_lines(tmp_path / "long.json", [long_one, good]), "zeek")
    assert [r["_line"] for r in rows] == [2]
    assert problems.first[0][0] == 1


def test_hostile_values_do_not_break_the_row(tmp_path: Path) -> None:
    doc = {"ts": "not a time", "uid": ["x"], "id.orig_h": {"a": 1}, "id.resp_p": "http"}
    doc |= {"query": "ok.example", "answers": [{"x": 1}, "1.2.3.4", 7]}
    rows, problems = read_rows(write_lines(tmp_path / "h.json", [doc]), "zeek")
    assert problems.count == 0
    assert rows[0]["@timestamp"] is None
    assert rows[0]["destination.port"] is None
    assert rows[0]["dns.resolved_ip"] == ["1.2.3.4"]


def test_gzip_input(tmp_path: Path, pack: RulePack) -> None:
    path = tmp_path / "conn.log.gz"
    path.write_bytes(gzip.compress((SAMPLES / "conn.log").read_bytes()))
    assert sniff(path) == ("zeek", "")
    assert [line for _, _, line in scan_hits(pack, path, "zeek")] == [9, 13]


@pytest.mark.parametrize("name", ["conn.log", "dns.log", "conn_dns.json"])
def test_samples_are_sniffed_as_zeek(name: str) -> None:
    assert sniff(SAMPLES / name) == ("zeek", "")


def test_sniffer_rejects_other_formats(tmp_path: Path) -> None:
    ecs = write_lines(tmp_path / "ecs.ndjson", [MINER])
    assert not zeek.sniff(Head(name="ecs.ndjson", data=ecs.read_bytes()))
    others = [
        b"#!/bin/sh\necho hi\n",
        b'{"ts": 1.0, "uid": "C1"}\n',  # no originator address
        json.dumps({"rule": "r", "priority": "Notice", "output_fields": {}}).encode(),
        b"sourceip,destinationip\n1.2.3.4,5.6.7.8\n",
    ]
    for data in others:
        assert not zeek.sniff(Head(name="x", data=data))
    for folder in ("falco", "qradar"):
        for sample in (SAMPLES.parent / folder).iterdir():
            assert not zeek.sniff(Head(name=sample.name, data=sample.read_bytes()))


CORPUS_COUNTS = {
    "otrf_apt29_day2_NEWYORK_conn.ndjson": 314,
    "otrf_apt29_day2_NEWYORK_dns.ndjson": 153,
    "otrf_apt29_day2_UTICA-A_dns.ndjson": 58,
    # SOURCES.md says 142; the file has 141 data rows (its first line is "\t#separator")
    "slips_test10_mixed_conn.log": 141,
    "slips_test10_mixed_dns.log": 93,
}


def test_corpus_parses_exactly_and_fires_nothing(pack: RulePack) -> None:
    folder = corpus_dir("zeek")
    inputs = []
    for name, count in CORPUS_COUNTS.items():
        path = folder / name
        assert sniff(path) == ("zeek", "")
        rows, problems = read_rows(path, "zeek")
        assert (len(rows), problems.count) == (count, 0), name
        assert all(r["@timestamp"] is not None and r["source.ip"] for r in rows), name
        inputs.append(Input(path, name, "zeek"))
    outcome = run_scan(pack, inputs, min_level="medium")
    assert outcome.alerts == []
    assert outcome.events == sum(CORPUS_COUNTS.values())


def test_white_space_before_the_header_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "tab.log"
    path.write_bytes(b"\t" + (SAMPLES / "conn.log").read_bytes())
    assert sniff(path) == ("zeek", "")
    rows, problems = read_rows(path, "zeek")
    assert (len(rows), problems.count) == (4, 1)


def test_mutated_input_never_raises(tmp_path: Path) -> None:
    rng = random.Random(11)
    for name in ("conn.log", "dns.log", "conn_dns.json"):
        base = (SAMPLES / name).read_bytes()
        for _ in range(40):
            data = bytearray(base)
            for _ in range(rng.randint(1, 12)):
                pos = rng.randrange(len(data))
                data[pos : pos + 1] = rng.choice(
                    [b"", b"\x00", b"\t", b"\n", b"\\x", b"\xff", b"{"]
                )
            path = tmp_path / "m.log"
            path.write_bytes(bytes(data))
            rows, problems = read_rows(path, "zeek")
            lines = data.count(b"\n") + 1
            assert all(1 <= r["_line"] <= lines for r in rows)
            assert len(rows) + problems.count > 0
