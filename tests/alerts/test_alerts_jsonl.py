"""JSONL writer: one contract object per line."""

from __future__ import annotations

import json

from alert_factory import MINER, POOL

from imagehunt.alerts.jsonl import render_jsonl

CONTRACT_KEYS = [
    "id",
    "@timestamp",
    "pack_version",
    "rule",
    "host",
    "container",
    "summary",
    "evidence",
    "fields",
    "suppress_hint",
]


def test_each_line_round_trips_to_the_contract_object(alerts):
    lines = list(render_jsonl(alerts))
    assert len(lines) == len(alerts)
    for line, alert in zip(lines, alerts, strict=True):
        assert line.endswith("\n")
        assert line.count("\n") == 1
        assert json.loads(line) == alert.to_json()


def test_keys_are_in_contract_order(make_alert):
    doc = json.loads(next(render_jsonl([make_alert()])))
    assert list(doc) == CONTRACT_KEYS
    assert list(doc["rule"]) == ["id", "name", "title", "level", "branch", "tags"]
    assert list(doc["evidence"][0]) == ["file", "line", "event_id", "format"]
    assert doc["@timestamp"] == "2024-05-01T12:00:03Z"
    assert doc["rule"]["tags"] == list(MINER.tags)


def test_container_left_out_when_unknown(make_alert):
    doc = json.loads(next(render_jsonl([make_alert(container_id=None, container_image=None)])))
    assert "container" not in doc


def test_non_ascii_is_kept_and_output_is_compact(make_alert):
    line = next(render_jsonl([make_alert(summary="mineur lancé sur nœud-1 ✓")]))
    assert "lancé sur nœud-1 ✓" in line
    assert ", " not in line.split('"summary"')[0]  # compact separators
    assert json.loads(line)["summary"] == "mineur lancé sur nœud-1 ✓"


def test_newline_in_a_value_stays_on_one_line(make_alert):
    lines = list(render_jsonl([make_alert(summary="a\nb", fields={"x": "1\r\n2"})]))
    assert len(lines) == 1
    assert json.loads(lines[0])["fields"]["x"] == "1\r\n2"


def test_stable_id(make_alert):
    first = json.loads(next(render_jsonl([make_alert()])))["id"]
    again = json.loads(next(render_jsonl([make_alert(summary="other text", host_name="h")])))["id"]
    other_line = json.loads(next(render_jsonl([make_alert(line=13)])))["id"]
    other_rule = json.loads(next(render_jsonl([make_alert(rule=POOL)])))["id"]
    assert first == again
    assert len({first, other_line, other_rule}) == 3


def test_event_field_types(make_alert):
    from datetime import UTC, datetime
    from decimal import Decimal

    fields = {
        "event.created": datetime(2024, 5, 1, tzinfo=UTC),
        "destination.port": 3333,
        "amount": Decimal("1.50"),
        "process.args": ("xmrig", "-o", "pool:3333"),
    }
    doc = json.loads(next(render_jsonl([make_alert(fields=fields)])))
    assert doc["fields"] == {
        "event.created": "2024-05-01T00:00:00Z",
        "destination.port": 3333,
        "amount": "1.50",
        "process.args": ["xmrig", "-o", "pool:3333"],
    }


def test_no_alerts_no_lines():
    assert list(render_jsonl([])) == []
