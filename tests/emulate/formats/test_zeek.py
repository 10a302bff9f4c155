"""Zeek TSV writer: header blocks, connection states, read-back through the Zeek reader."""

from __future__ import annotations

import re
from pathlib import Path

from imagehunt.emulate.formats import zeek
from support.emulate_common import at, read_back
from support.emulate_steps_infra import (
    DOCKER_HOST,
    POOL_IP,
    cloud_scenario,
    k8s_scenario,
    network_scenario,
)

UID = re.compile(r"^C[0-9A-Za-z]{17}$")
HEADER_KEYS = [
    "#separator",
    "#set_separator",
    "#empty_field",
    "#unset_field",
    "#path",
    "#open",
    "#fields",
    "#types",
]


def _blocks(text: str) -> list[list[str]]:
    """The lines of each log (a block ends with its #close line)."""
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        blocks[-1].append(line)
        if line.startswith("#close"):
            blocks.append([])
    assert blocks[-1] == []
    return blocks[:-1]


def _records(block: list[str]) -> list[dict[str, str]]:
    fields = next(line for line in block if line.startswith("#fields")).split("\t")[1:]
    rows = [line.split("\t") for line in block if not line.startswith("#")]
    assert all(len(row) == len(fields) for row in rows)
    return [dict(zip(fields, row, strict=True)) for row in rows]


def test_conn_then_dns_each_with_zeeks_header() -> None:
    conn, dns = _blocks(zeek.write(network_scenario()))
    for block, path in ((conn, "conn"), (dns, "dns")):
        assert [line.split("\t")[0].split(" ")[0] for line in block[:8]] == HEADER_KEYS
        assert block[0] == "#separator \\x09"
        assert block[1:4] == ["#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-"]
        assert block[4] == f"#path\t{path}"
        assert re.match(r"^#open\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$", block[5])
        fields, types = block[6].split("\t")[1:], block[7].split("\t")[1:]
        assert len(fields) == len(types)
        assert re.match(r"^#close\t\d{4}(-\d\d){5}$", block[-1])
    assert conn[5] == "#open\t2026-11-20-09-14-07"
    assert conn[-1] == dns[-1]
    assert conn[7].split("\t")[1:4] == ["time", "string", "addr"]
    assert dns[7].split("\t")[-3:] == ["vector[string]", "vector[interval]", "bool"]


def test_rows_are_in_ts_order_with_zeek_uids() -> None:
    conn, dns = (_records(b) for b in _blocks(zeek.write(network_scenario())))
    for rows in (conn, dns):
        stamps = [float(row["ts"]) for row in rows]
        assert stamps == sorted(stamps)
        assert all(UID.match(row["uid"]) for row in rows)
        assert all(re.match(r"^\d+\.\d{6}$", row["ts"]) for row in rows)
    conn_by_uid = {row["uid"]: row for row in conn}
    for lookup in dns:
        exchange = conn_by_uid[lookup["uid"]]
        assert (exchange["proto"], exchange["service"], exchange["id.resp_p"]) == (
            "udp",
            "dns",
            "53",
        )
        assert (exchange["conn_state"], exchange["history"]) == ("SF", "Dd")
        assert exchange["duration"] == lookup["rtt"]
        assert exchange["ts"] == lookup["ts"]


def test_connection_states_follow_the_outcome() -> None:
    conn = _records(_blocks(zeek.write(network_scenario()))[0])
    by_port = {row["id.resp_p"]: row for row in conn}
    https = by_port["443"]
    assert (https["conn_state"], https["history"], https["service"]) == ("SF", "ShADadFf", "ssl")
    assert int(https["orig_ip_bytes"]) > int(https["orig_bytes"])
    pool = by_port["3333"]
    assert (pool["conn_state"], pool["history"], pool["service"]) == ("S0", "S", "-")
    assert (pool["orig_pkts"], pool["orig_ip_bytes"], pool["resp_pkts"]) == ("3", "180", "0")
    assert 3.0 < float(pool["duration"]) < 3.1
    refused = by_port["9999"]
    assert (refused["conn_state"], refused["history"]) == ("REJ", "Sr")
    exfil = by_port["8080"]
    assert exfil["service"] == "http"
    # the container's traffic leaves the host masqueraded; loopback never reaches the sensor
    assert {row["id.orig_h"] for row in conn} == {DOCKER_HOST.ip}
    assert "8000" not in by_port
    assert {row["local_orig"] for row in conn} == {"-"}


def test_dns_rows_carry_answers_and_ttls() -> None:
    dns = _records(_blocks(zeek.write(network_scenario()))[1])
    github, pool, missing = dns
    assert (github["query"], github["trans_id"], github["qtype"], github["qtype_name"]) == (
        "api.github.com",
        str(0x3A1F),
        "1",
        "A",
    )
    assert (github["rcode"], github["rcode_name"], github["RD"], github["RA"]) == (
        "0",
        "NOERROR",
        "T",
        "T",
    )
    assert pool["answers"] == f"{POOL_IP},94.130.164.163"
    assert len(pool["TTLs"].split(",")) == 2
    assert all(re.match(r"^\d+\.\d{6}$", ttl) for ttl in pool["TTLs"].split(","))
    assert (missing["rcode_name"], missing["answers"], missing["TTLs"]) == ("NXDOMAIN", "-", "-")


def test_read_back_gives_exact_fields(tmp_path: Path) -> None:
    rows, problems = read_back(tmp_path / "zeek.log", zeek.write(network_scenario()), "zeek")
    assert problems.count == 0
    conn = [row for row in rows if row["event.dataset"] == "zeek.conn"]
    dns = [row for row in rows if row["event.dataset"] == "zeek.dns"]
    assert (len(conn), len(dns)) == (7, 3)
    pool = next(row for row in conn if row["destination.port"] == 3333)
    assert pool["@timestamp"] == at(12.9)
    assert (pool["source.ip"], pool["source.port"]) == (DOCKER_HOST.ip, 40112)
    assert pool["destination.ip"] == POOL_IP
    assert pool["network.transport"] == "tcp"
    assert pool["event.action"] == "S0"
    assert pool["host.ip"] == [DOCKER_HOST.ip]
    lookup = dns[1]
    assert lookup["dns.question.name"] == "pool.minexmr.com"
    assert lookup["dns.question.type"] == "A"
    assert lookup["dns.resolved_ip"] == [POOL_IP, "94.130.164.163"]
    assert (lookup["destination.ip"], lookup["destination.port"]) == ("10.20.0.2", 53)
    assert lookup["@timestamp"] == at(12.8)
    assert dns[2]["dns.resolved_ip"] is None


def test_escape_writes_control_characters_and_separators_as_hex() -> None:
    assert zeek.escape("a\tb") == "a\\x09b"
    assert zeek.escape("a,b", in_set=True) == "a\\x2cb"
    assert zeek.escape("a,b") == "a,b"
    assert zeek.escape("") == "(empty)"


def test_steps_zeek_never_sees_give_nothing() -> None:
    assert zeek.write(cloud_scenario()) == ""
    assert zeek.write(k8s_scenario()) == ""


def test_same_seed_same_text_other_seed_other_uids() -> None:
    text = zeek.write(network_scenario(7))
    assert text == zeek.write(network_scenario(7))
    same = _records(_blocks(text)[0])
    other = _records(_blocks(zeek.write(network_scenario(8)))[0])
    assert [r["id.resp_p"] for r in same] == [r["id.resp_p"] for r in other]
    assert {r["uid"] for r in same}.isdisjoint(r["uid"] for r in other)
