"""SARIF 2.1.0 writer: structure, levels, locations, fingerprints."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest
from alert_factory import CHAIN, MINER, POOL

from imagehunt.alerts.model import Evidence, RuleRef
from imagehunt.alerts.sarif import artifact_uri, render_sarif, sarif_log


def load(alerts):
    return json.loads(render_sarif(alerts, pack_version="2024.05.0", tool_version="1.2.3"))


def test_required_structure(alerts):
    log = load(alerts)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "imagehunt"
    assert driver["version"] == "1.2.3"
    assert driver["properties"]["pack_version"] == "2024.05.0"
    assert len(run["results"]) == len(alerts)
    for result in run["results"]:
        assert {"ruleId", "ruleIndex", "level", "message", "locations"} <= set(result)
        assert result["message"]["text"]
        for loc in result["locations"]:
            assert loc["physicalLocation"]["artifactLocation"]["uri"]


def test_rules_are_distinct_and_described(alerts, make_alert):
    log = load([*alerts, make_alert(line=99)])
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert sorted(r["id"] for r in rules) == sorted({MINER.id, POOL.id, CHAIN.id})
    miner = next(r for r in rules if r["id"] == MINER.id)
    assert miner["name"] == "miner_process"
    assert miner["shortDescription"] == {"text": MINER.title}
    assert miner["defaultConfiguration"] == {"level": "error"}
    assert miner["properties"]["tags"] == ["attack.execution", "attack.t1204.003"]


def test_rule_index_points_at_the_result_rule(alerts):
    run = load(alerts)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result, alert in zip(run["results"], alerts, strict=True):
        assert result["ruleId"] == alert.rule.id
        assert rules[result["ruleIndex"]]["id"] == alert.rule.id


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("critical", "error"),
        ("high", "error"),
        ("medium", "warning"),
        ("low", "note"),
        ("informational", "note"),
    ],
)
def test_level_mapping(make_alert, level, expected):
    rule = RuleRef("r-" + level, "r", "t", level, "B", ())
    log = load([make_alert(rule=rule)])
    result = log["runs"][0]["results"][0]
    assert result["level"] == expected
    assert result["properties"]["level"] == level
    assert log["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"] == {
        "level": expected
    }


def test_locations_fingerprint_and_properties(alerts):
    result = load(alerts)["runs"][0]["results"][2]
    chain = alerts[2]
    regions = [loc["physicalLocation"]["region"] for loc in result["locations"]]
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in result["locations"]]
    assert regions == [{"startLine": ev.line} for ev in chain.evidence]
    assert uris == ["logs/docker%20events.json", "logs/a.ndjson"]
    assert result["partialFingerprints"] == {"imagehunt/v1": chain.id}
    assert result["message"]["text"] == chain.summary
    props = result["properties"]
    assert props["fields"] == {"process.name": "xmrig"}
    assert props["host"] == {"name": "node-1"}
    assert props["timestamp"] == "2024-05-01T12:00:03Z"


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("logs/a.ndjson", "logs/a.ndjson"),
        ("my logs/a b.json", "my%20logs/a%20b.json"),
        ("weird#name%.log", "weird%23name%25.log"),
        ("c:odd/x.log", "c%3Aodd/x.log"),
        ("/var/log/audit log/audit.log", "file:///var/log/audit%20log/audit.log"),
        ("C:\\Logs\\sys mon.evtx", "file:///C:/Logs/sys%20mon.evtx"),
        ("s3://bucket/cloud trail/x.json.gz", "s3://bucket/cloud%20trail/x.json.gz"),
    ],
)
def test_artifact_uri_is_a_valid_uri(path, uri):
    assert artifact_uri(path) == uri
    assert " " not in uri
    if not urlsplit(uri).scheme:
        assert unquote(uri) == path


def test_zero_line_has_no_region(make_alert):
    alert = make_alert(evidence=(Evidence("logs/a.ndjson", 0, "ecs"),))
    loc = load([alert])["runs"][0]["results"][0]["locations"][0]
    assert "region" not in loc["physicalLocation"]


def test_empty_run():
    log = sarif_log([], pack_version="1")
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["rules"] == []
