"""Single JSON document writer."""

from __future__ import annotations

import json

from imagehunt.alerts.json_writer import render_json


def test_document_holds_alerts_and_counts(alerts):
    text = render_json(alerts, pack_version="2024.05.0")
    assert text.endswith("}\n")
    doc = json.loads(text)
    assert list(doc) == ["pack_version", "alerts", "summary"]
    assert doc["pack_version"] == "2024.05.0"
    assert doc["alerts"] == [a.to_json() for a in alerts]
    summary = doc["summary"]
    assert summary["total"] == 3
    assert summary["by_level"] == {
        "critical": 1,
        "high": 1,
        "medium": 1,
        "low": 0,
        "informational": 0,
    }
    assert summary["by_rule"] == {"miner_process": 1, "pool_connection": 1, "pull_then_mine": 1}
    assert summary["by_host"] == {"node-1": 2, "node-2": 1}


def test_empty_document():
    doc = json.loads(render_json([], pack_version="1"))
    assert doc["alerts"] == []
    assert doc["summary"]["total"] == 0
    assert doc["summary"]["by_rule"] == {}
    assert set(doc["summary"]["by_level"].values()) == {0}


def test_unknown_host_counted_under_placeholder(make_alert):
    doc = json.loads(render_json([make_alert(host_name=None)] * 2, pack_version="1"))
    assert doc["summary"]["by_host"] == {"(no host)": 2}


def test_cloud_alerts_are_counted_by_account(make_alert):
    cloud = make_alert(
        host_name=None, fields={"cloud.provider": "aws", "cloud.account.id": "111122223333"}
    )
    doc = json.loads(render_json([cloud, cloud, make_alert()], pack_version="1"))
    assert doc["summary"]["by_host"] == {"aws:111122223333": 2, "node-1": 1}
