"""Sysmon for Linux: syslog XML lines, journald JSON, Elastic winlog JSON; the shared mapping."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path

import pytest

from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources import sysmon
from imagehunt.sources.sniff import read_rows, sniff
from imagehunt.sources.sysmon_fields import (
    LINUX,
    SystemFacts,
    resolved_ips,
    split_posix,
    split_windows,
    sysmon_values,
)
from support.corpus import corpus_dir
from support.events import BENIGN, MINER, write_lines
from support.source_rows import head_of, scan_hits

SAMPLES = Path(__file__).parent / "samples" / "sysmon"
SYSLOG = SAMPLES / "syslog.log"
JOURNAL = SAMPLES / "journal.json"
ELASTIC = SAMPLES / "elastic_sysmon_linux.ndjson"
WINLOGBEAT = Path(__file__).parent / "samples" / "winlogbeat" / "sysmon.ndjson"


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack(select=["miner_process", "pool_connection", "pool_dns"])


def _event_line(event_id: int, data: str, header: str = "Nov 22 10:00:00 h1 sysmon: ") -> str:
    system = (
        '<System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/>'
        f"<EventID>{event_id}</EventID><Version>5</Version>"
        '<TimeCreated SystemTime="2026-11-22T10:00:00.000000000Z"/>'
        "<EventRecordID>7</EventRecordID><Channel>Linux-Sysmon/Operational</Channel>"
        "<Computer>h1</Computer></System>"
    )
    return f"{header}<Event>{system}<EventData>{data}</EventData></Event>"


# ---- end to end -------------------------------------------------------------------------------
def test_syslog_sample_fires_the_miner_and_pool_rules_on_exact_lines(pack: RulePack) -> None:
    assert scan_hits(pack, SYSLOG, "sysmon", "syslog.log") == [
        ("miner_process", "syslog.log", 2),
        ("pool_connection", "syslog.log", 4),
    ]


def test_process_terminated_is_an_end_event_and_fires_nothing(
    pack: RulePack, tmp_path: Path
) -> None:
    only_end = tmp_path / "end.log"
    only_end.write_text(SYSLOG.read_text().splitlines()[5] + "\n")
    rows, _ = read_rows(only_end, "sysmon")
    assert [(r["event.code"], r["process.name"], r["event.type"]) for r in rows] == [
        ("5", "xmrig", ["end"])
    ]
    assert scan_hits(pack, only_end, "sysmon") == []


def test_gzip_input_gives_the_same_alerts(pack: RulePack, tmp_path: Path) -> None:
    packed = tmp_path / "syslog.log.gz"
    with SYSLOG.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert sniff(packed) == ("sysmon", "")
    assert [(name, line) for name, _, line in scan_hits(pack, packed, "sysmon")] == [
        ("miner_process", 2),
        ("pool_connection", 4),
    ]


def test_journald_json_export_is_read_and_fires(pack: RulePack) -> None:
    rows, problems = read_rows(JOURNAL, "sysmon")
    assert [(r["_line"], r["process.name"], r["process.parent.name"]) for r in rows] == [
        (2, "xmrig", "containerd-shim-runc-v2")
    ]
    assert problems.count == 0
    assert scan_hits(pack, JOURNAL, "sysmon", "j") == [("miner_process", "j", 2)]


def test_pool_dns_fires_on_a_dns_query_event(pack: RulePack, tmp_path: Path) -> None:
    data = (
        '<Data Name="UtcTime">2026-11-22 10:00:00.100</Data><Data Name="ProcessId">77</Data>'
        '<Data Name="QueryName">pool.minexmr.com</Data><Data Name="QueryStatus">0</Data>'
        '<Data Name="QueryResults">type: 5 minexmr.com;::ffff:94.130.12.30;</Data>'
        '<Data Name="Image">/tmp/.x/xmrig</Data>'
    )
    path = tmp_path / "dns.log"
    path.write_text(_event_line(22, data) + "\n" + _event_line(22, data.replace("pool.", "")))
    rows, _ = read_rows(path, "sysmon")
    assert rows[0]["dns.resolved_ip"] == ["::ffff:94.130.12.30"]
    assert rows[0]["event.category"] == ["network"] and rows[0]["network.protocol"] == "dns"
    assert scan_hits(pack, path, "sysmon", "d") == [("pool_dns", "d", 1), ("pool_dns", "d", 2)]


# ---- mapping ----------------------------------------------------------------------------------
def test_process_create_maps_every_field() -> None:
    rows, problems = read_rows(SYSLOG, "sysmon")
    assert problems.count == 0
    miner = rows[0]
    assert miner["_line"] == 2 and miner["_format"] == "sysmon"
    assert miner["@timestamp"].isoformat() == "2026-11-22T10:00:01.410000+00:00"
    expected = {
        "event.code": "1",
        "event.id": "1001",
        "event.module": "sysmon",
        "event.provider": "Linux-Sysmon",
        "event.action": "Process Create",
        "event.category": ["process"],
        "event.type": ["start"],
        "host.name": "node-7",
        "host.os.type": "linux",
        "user.name": "root",
        "process.entity_id": "4b1c2d3e-6a2f-6740-d1a6-5b9f3c550000",
        "process.pid": 4242,
        "process.executable": "/tmp/.x/xmrig",
        "process.name": "xmrig",
        "process.working_directory": "/",
        "process.parent.pid": 4200,
        "process.parent.name": "containerd-shim-runc-v2",
        "process.parent.executable": "/usr/bin/containerd-shim-runc-v2",
        "process.args": [
            "/tmp/.x/xmrig",
            "-o",
            "pool.supportxmr.com:3333",
            "-u",
            "44AFFq5kSiGBoZ",
            "--donate-level",
            "1",
        ],
    }
    assert {key: miner[key] for key in expected} == expected


def test_three_syslog_header_styles_and_other_programs_lines() -> None:
    rows, problems = read_rows(SYSLOG, "sysmon")
    # line 1 (systemd) and line 8 (sysmon's banner) are other syslog lines: skipped, no problem
    assert [r["_line"] for r in rows] == [2, 3, 4, 5, 6, 7]
    assert [r["event.code"] for r in rows] == ["1", "1", "3", "3", "5", "11"]
    assert problems.count == 0


def test_network_connection_fields() -> None:
    rows, _ = read_rows(SYSLOG, "sysmon")
    conn = rows[2]
    assert conn["event.category"] == ["network"]
    assert conn["event.type"] == ["connection", "start"]
    assert (conn["source.ip"], conn["source.port"]) == ("172.17.0.2", 41822)
    assert (conn["destination.ip"], conn["destination.port"]) == ("94.130.12.30", 3333)
    assert (conn["network.transport"], conn["network.direction"]) == ("tcp", "egress")
    assert conn["process.name"] == "xmrig" and conn["destination.domain"] is None


def test_other_event_ids_have_no_category() -> None:
    rows, _ = read_rows(SYSLOG, "sysmon")
    file_create = rows[5]
    assert file_create["event.code"] == "11"
    assert file_create["event.category"] is None and file_create["event.type"] is None
    assert file_create["host.name"] == "node-7"
    assert file_create["@timestamp"].isoformat() == "2026-11-22T10:00:06+00:00"


def test_quoted_linux_command_line_is_split_like_a_shell() -> None:
    rows, _ = read_rows(SYSLOG, "sysmon")
    assert rows[1]["process.args"] == ["grep", "-r", "xmrig", "/var/log/my logs"]
    assert rows[1]["process.command_line"] == "grep -r \"xmrig\" '/var/log/my logs'"


def test_xml_entities_are_decoded_and_nothing_else_expanded(tmp_path: Path) -> None:
    data = (
        '<Data Name="Image">/usr/bin/sh</Data>'
        '<Data Name="CommandLine">'
        "sh -c echo &lt;a&gt; &amp;&amp; echo &#x41;&#66; &foo; &#0; &#xD800;</Data>"
    )
    path = tmp_path / "e.log"
    path.write_text(_event_line(1, data) + "\n")
    rows, _ = read_rows(path, "sysmon")
    assert rows[0]["process.command_line"] == "sh -c echo <a> && echo AB &foo; &#0; &#xD800;"


def test_null_image_of_sysmon_for_linux_is_no_process_name(tmp_path: Path) -> None:
    path = tmp_path / "n.log"
    path.write_text(
        _event_line(5, '<Data Name="ProcessId">3</Data><Data Name="Image">(null)</Data>') + "\n"
    )
    rows, _ = read_rows(path, "sysmon")
    assert (rows[0]["process.pid"], rows[0]["process.executable"]) == (3, None)
    assert rows[0]["process.name"] is None


def test_malformed_lines_are_counted_and_neighbours_read(tmp_path: Path) -> None:
    good = _event_line(1, '<Data Name="Image">/tmp/xmrig</Data>')
    lines = [
        good,
        good[:200],  # truncated by a syslog size limit
        _event_line(1, '<Data Name="Image">x</Data>').replace(
            "<Event>", '<!DOCTYPE e [<!ENTITY a "b">]><Event>'
        ),
        good,
        _event_line(1, '<Data Name="Image">/tmp/xmrig'),  # Data not closed
        '{"winlog": ',
        '{"other": 1}',
        "<EventID>x</EventID>",
        _event_line(1, "").replace("<EventID>1<", "<EventID>one<"),
        good,
    ]
    path = tmp_path / "m.log"
    path.write_text("\n".join(lines) + "\n")
    rows, problems = read_rows(path, "sysmon")
    assert [r["_line"] for r in rows] == [1, 4, 10]
    assert [line for line, _ in problems.first] == [2, 3, 5, 6, 7, 8, 9]
    reasons = dict(problems.first)
    assert "truncated" in reasons[2]
    assert "DOCTYPE" in reasons[3]
    assert "invalid JSON" in reasons[6]
    assert "numeric EventID" in reasons[9]


def test_elastic_json_prefers_its_ecs_fields_and_fills_gaps() -> None:
    rows, problems = read_rows(ELASTIC, "sysmon")
    assert problems.count == 0
    row = rows[0]
    # from the document's ECS fields
    assert row["process.entity_id"] == "{4b1c2d3e-6a2f-6740-d1a6-5b9f3c550000}"
    assert row["event.module"] == "sysmon_linux"
    assert row["@timestamp"].isoformat() == "2026-11-22T10:00:01.410000+00:00"
    # filled in from winlog.event_data
    assert row["process.parent.name"] == "containerd-shim-runc-v2"
    assert row["process.args"] == [
        "/tmp/.x/xmrig",
        "--url=pool.supportxmr.com:443",
        "--coin=monero",
    ]
    assert row["event.id"] == "1001"


def test_pretty_printed_events_wrapper_numbers_each_event_by_its_opening_brace(
    tmp_path: Path, pack: RulePack
) -> None:
    doc = json.loads(ELASTIC.read_text())
    wrapper = {"events": [doc, doc]}
    path = tmp_path / "test-sysmon.json"
    path.write_text(json.dumps(wrapper, indent=4) + "\n")
    text_lines = path.read_text().splitlines()
    openings = [n for n, t in enumerate(text_lines, 1) if t == "        {"]
    rows, problems = read_rows(path, "sysmon")
    assert [r["_line"] for r in rows] == openings and len(openings) == 2
    assert problems.count == 0
    assert [line for _, _, line in scan_hits(pack, path, "sysmon")] == openings


def test_unclosed_pretty_document_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('{\n  "events": [\n    {\n      "winlog": {\n')
    rows, problems = read_rows(path, "sysmon")
    assert rows == [] and problems.first == [
        (1, "JSON document not closed before the end of the file")
    ]


def test_corpus_elastic_test_file(tmp_path: Path) -> None:
    path = corpus_dir("sysmon_linux") / "elastic_integrations_test-sysmon.json"
    rows, problems = read_rows(path, "sysmon")
    assert problems.count == 0
    assert [(r["_line"], r["event.code"], r["event.id"]) for r in rows] == [
        (3, "5", "24"),
        (38, "5", "22"),
    ]
    assert [r["event.type"] for r in rows] == [["end"], ["end"]]
    assert [r["process.name"] for r in rows] == ["osqueryd", None]
    assert [r["process.pid"] for r in rows] == [783, 3100]
    assert {r["host.name"] for r in rows} == {"user-ubuntu"}


# ---- sniffing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [SYSLOG, JOURNAL, ELASTIC], ids=lambda p: p.name)
def test_sniff_claims_sysmon_for_linux_files(path: Path) -> None:
    assert sysmon.sniff(head_of(path))
    assert sniff(path) == ("sysmon", "")


def test_sniff_claims_the_pretty_printed_corpus_file() -> None:
    path = corpus_dir("sysmon_linux") / "elastic_integrations_test-sysmon.json"
    assert sniff(path) == ("sysmon", "")


def test_sniff_rejects_other_formats(tmp_path: Path) -> None:
    ecs = write_lines(tmp_path / "ecs.ndjson", [MINER, BENIGN])
    plain = tmp_path / "syslog"
    plain.write_text("Nov 22 10:00:00 h1 sshd[1]: Accepted publickey for ops\n")
    for path in (ecs, plain, WINLOGBEAT):
        assert not sysmon.sniff(head_of(path)), path.name
    assert sniff(ecs)[0] == "ecs"


# ---- command line splitting and DNS answers (sysmon_fields) ------------------------------------
@pytest.mark.parametrize(
    ("command_line", "args"),
    [
        ("xmrig -o a:1", ["xmrig", "-o", "a:1"]),
        ("sh -c 'curl x | sh'", ["sh", "-c", "curl x | sh"]),
        ('echo "a b" c\\ d', ["echo", "a b", "c d"]),
        ('echo "unbalanced', ["echo", '"unbalanced']),
        (
            "echo $(rm -rf /) `id` # not a comment",
            ["echo", "$(rm", "-rf", "/)", "`id`", "#", "not", "a", "comment"],
        ),
    ],
)
def test_split_posix(command_line: str, args: list[str]) -> None:
    assert split_posix(command_line) == args


@pytest.mark.parametrize(
    ("command_line", "args"),
    [
        ('"C:\\Program Files\\x.exe" -a "b c" d', ["C:\\Program Files\\x.exe", "-a", "b c", "d"]),
        ("C:\\w\\x.exe a\\\\b", ["C:\\w\\x.exe", "a\\\\b"]),
        ('x.exe a\\"b', ["x.exe", 'a"b']),
        ('x.exe "a\\\\" b', ["x.exe", "a\\", "b"]),
        ('x.exe "a""b c"', ["x.exe", 'a"b', "c"]),
        ('x.exe "unclosed arg', ["x.exe", "unclosed arg"]),
        ('"C:\\a b\\x.exe"', ["C:\\a b\\x.exe"]),
        ("   ", []),
    ],
)
def test_split_windows(command_line: str, args: list[str]) -> None:
    assert split_windows(command_line) == args


def test_resolved_ips_keep_only_addresses() -> None:
    results = "type: 5 x.com;::ffff:1.2.3.4;10.0.0.1;2001:db8::1;junk;"
    assert resolved_ips(results) == ["::ffff:1.2.3.4", "10.0.0.1", "2001:db8::1"]
    assert resolved_ips("-") is None


def test_sysmon_values_direction_ingress_and_domain() -> None:
    data = {"Initiated": "false", "DestinationHostname": "pool.example", "Protocol": "UDP"}
    values = sysmon_values(SystemFacts(event_id="3"), data, LINUX)
    assert values["network.direction"] == "ingress"
    assert values["network.transport"] == "udp"
    assert values["destination.domain"] == "pool.example"


def test_randomly_damaged_lines_never_stop_the_read(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    source = [t for t in SYSLOG.read_text().splitlines() if "<Event>" in t]
    for round_number in range(30):
        lines = []
        for text in source * 3:
            cut = rng.randrange(len(text) + 1)
            noise = rng.choice(["<", ">", "&", '"', "</Data>", "<!", "&#99999999;", ""])
            lines.append(rng.choice([text, text[:cut], text[:cut] + noise + text[cut:]]))
        path = tmp_path / f"r{round_number}.log"
        path.write_text("\n".join(lines) + "\n")
        rows, problems = read_rows(path, "sysmon")
        intact = {n for n, text in enumerate(lines, 1) if text in source}
        assert intact <= {r["_line"] for r in rows}
        assert problems.count + len(rows) <= len(lines)


def test_journald_byte_array_message_is_decoded(tmp_path: Path) -> None:
    record = json.loads(JOURNAL.read_text().splitlines()[1])
    record["MESSAGE"] = list(
        record["MESSAGE"].replace("config.json", "c\xe9.json").encode("latin-1")
    )
    path = write_lines(tmp_path / "j.json", [record, {"MESSAGE": [1, "x"], "_PID": "1"}])
    rows, problems = read_rows(path, "sysmon")
    assert [(r["_line"], r["process.args"]) for r in rows] == [
        (1, ["/tmp/.x/xmrig", "-c", "c\ufffd.json"])
    ]
    assert problems.count == 0
