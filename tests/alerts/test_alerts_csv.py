"""CSV writer: fixed columns, spreadsheet-safe cells, values that round-trip."""

from __future__ import annotations

import csv
import io

from alert_factory import CHAIN

from imagehunt.alerts.csv_writer import COLUMNS, neutralize, render_csv
from imagehunt.alerts.model import Evidence

EXPECTED_COLUMNS = [
    "id",
    "timestamp",
    "level",
    "rule_name",
    "rule_id",
    "branch",
    "host",
    "container_id",
    "container_image",
    "summary",
    "evidence_file",
    "evidence_line",
    "evidence_format",
    "event_id",
    "more_evidence",
]


def read(alerts):
    text = "".join(render_csv(alerts))
    return text, list(csv.reader(io.StringIO(text, newline="")))


def test_header_is_fixed_even_without_alerts():
    text, rows = read([])
    assert list(COLUMNS) == EXPECTED_COLUMNS
    assert rows == [EXPECTED_COLUMNS]
    assert text == ",".join(EXPECTED_COLUMNS) + "\r\n"


def test_row_values(make_alert):
    alert = make_alert()
    _, rows = read([alert])
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row == {
        "id": alert.id,
        "timestamp": "2024-05-01T12:00:03Z",
        "level": "high",
        "rule_name": "miner_process",
        "rule_id": alert.rule.id,
        "branch": "MinerProcessExecution",
        "host": "node-1",
        "container_id": "c0ffee",
        "container_image": "docker.io/evil/miner:latest",
        "summary": "xmrig started in container web-1",
        "evidence_file": "logs/a.ndjson",
        "evidence_line": "12",
        "evidence_format": "ecs",
        "event_id": "evt-12",
        "more_evidence": "",
    }


def test_more_evidence_lists_the_other_steps(make_alert):
    evidence = (
        Evidence("logs/d.json", 3, "docker", "pull-1"),
        Evidence("logs/a.ndjson", 12, "ecs"),
        Evidence("logs/b.log", 7, "auditd"),
    )
    _, rows = read([make_alert(rule=CHAIN, evidence=evidence)])
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["evidence_file"], row["evidence_line"], row["event_id"]) == (
        "logs/d.json",
        "3",
        "pull-1",
    )
    assert row["more_evidence"] == "logs/a.ndjson:12; logs/b.log:7"


def test_formula_injection_is_neutralised(make_alert):
    alert = make_alert(
        summary='=HYPERLINK("http://evil.example","click")',
        host_name="@SUM(1)",
        container_image="+cmd|' /C calc'!A0",
        container_id="-2+3",
        evidence=(Evidence("\tlogs/x.log", 1, "ecs"), Evidence("=x.log", 2, "ecs")),
    )
    _, rows = read([alert])
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["summary"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["host"] == "'@SUM(1)"
    assert row["container_image"] == "'+cmd|' /C calc'!A0"
    assert row["container_id"] == "'-2+3"
    assert row["evidence_file"] == "'\tlogs/x.log"
    assert row["more_evidence"] == "'=x.log:2"
    assert neutralize("\rx") == "'\rx"
    assert neutralize("plain = fine") == "plain = fine"


def test_commas_quotes_and_newlines_round_trip(make_alert):
    summary = 'xmrig, "the miner",\nstarted\r\nagain'
    text, rows = read([make_alert(summary=summary, host_name="a,b")])
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["summary"] == summary
    assert row["host"] == "a,b"
    assert text.endswith("\r\n")


def test_missing_values_are_empty_cells(make_alert):
    alert = make_alert(host_name=None, container_id=None, container_image=None, timestamp=None)
    _, rows = read([alert])
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["host"] == row["container_id"] == row["timestamp"] == ""


def test_one_row_per_alert(alerts):
    _, rows = read(alerts)
    assert [r[0] for r in rows[1:]] == [a.id for a in alerts]
    assert all(len(r) == len(EXPECTED_COLUMNS) for r in rows)
