"""`imagehunt scan` end to end: outputs, selection, exit codes, bad input, user rules."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from support.cli_run import run_cli
from support.events import BENIGN, MINER, event, write_lines

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Cap = pytest.CaptureFixture[str]


def _jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_examples_give_expected_rules_and_lines(capsys: Cap) -> None:
    result = run_cli(["scan", str(EXAMPLES), "-f", "jsonl"], capsys)
    assert result.code == 0
    alerts = _jsonl(result.out)
    got = {
        (a["rule"]["name"], Path(a["evidence"][0]["file"]).name, a["evidence"][0]["line"])
        for a in alerts
    }
    assert ("miner_cmdline", "endpoint-web01.ndjson", 5) in got
    assert ("container_downloader", "endpoint-web01.ndjson", 3) in got
    assert ("image_typosquat", "endpoint-web01.ndjson", 1) in got
    assert ("container_credential_exposure", "endpoint-build02.ndjson", 3) in got
    lines_build = {line for name, file, line in got if file == "endpoint-build02.ndjson"}
    assert lines_build == {3}, "alpine/git, bitnami/redis, bitcoind:8333, notminexmr: no alert"
    assert "endpoint-web01.ndjson:10" in result.err.replace("\n", "")
    # auditd: containerd-shim's curl fetching xmrig, then xmrig and its pool connection
    assert ("container_downloader", "audit-node7.log", 8) in got
    assert ("miner_then_pool", "audit-node7.log", 15) in got
    # CloudTrail: the own image's launch is silent; the community image's launch is high,
    # the failed 10 x p3.16xlarge attempt from it medium (mining-sized, one level lower)
    levels = {
        a["evidence"][0]["line"]: a["rule"]["level"]
        for a in alerts
        if a["rule"]["name"] == "cloud_image_launch"
    }
    assert levels == {100: "high", 144: "medium"}


def test_alert_contract_fields(capsys: Cap, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.ndjson", [MINER])
    first = _jsonl(
        run_cli(["scan", str(path), "-f", "jsonl", "--rule", "miner_process"], capsys).out
    )
    second = _jsonl(
        run_cli(["scan", str(path), "-f", "jsonl", "--rule", "miner_process"], capsys).out
    )
    assert len(first) == 1
    alert = first[0]
    for key in (
        "id",
        "@timestamp",
        "pack_version",
        "rule",
        "host",
        "summary",
        "evidence",
        "fields",
        "suppress_hint",
    ):
        assert key in alert
    assert alert["rule"]["name"] == "miner_process"
    assert alert["rule"]["branch"] == "MinerProcessExecution"
    assert alert["evidence"] == [{"file": str(path), "line": 1, "event_id": "m1", "format": "ecs"}]
    assert alert["fields"]["process.name"] == "xmrig"
    assert alert["id"] == second[0]["id"]


def test_fail_on_sets_exit_code_one(capsys: Cap, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.ndjson", [MINER])
    assert run_cli(["scan", str(path), "-f", "jsonl"], capsys).code == 0
    assert run_cli(["scan", str(path), "-f", "jsonl", "--fail-on", "high"], capsys).code == 1
    assert (
        run_cli(
            ["scan", str(path), "-f", "jsonl", "--fail-on", "critical", "--rule", "miner_process"],
            capsys,
        ).code
        == 0
    )


def test_strict_turns_malformed_lines_into_exit_four(capsys: Cap, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.ndjson", [MINER, "garbage {"])
    relaxed = run_cli(["scan", str(path), "-f", "jsonl"], capsys)
    assert relaxed.code == 0
    assert len(_jsonl(relaxed.out)) >= 1
    assert f"{path}:2" in relaxed.err.replace("\n", "")
    assert run_cli(["scan", str(path), "-f", "jsonl", "--strict"], capsys).code == 4


def test_no_readable_input_is_exit_four(capsys: Cap, tmp_path: Path) -> None:
    assert run_cli(["scan", str(tmp_path / "missing.ndjson")], capsys).code == 4
    empty = tmp_path / "empty.ndjson"
    empty.write_text("")
    assert run_cli(["scan", str(empty)], capsys).code == 4


def test_usage_error_is_exit_two(capsys: Cap, tmp_path: Path) -> None:
    assert run_cli(["scan", str(tmp_path), "-f", "xml"], capsys).code == 2
    assert run_cli(["scan", str(tmp_path), "--rule", "no_such_rule"], capsys).code == 2


def test_rule_selection_and_min_level(capsys: Cap, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.ndjson", [MINER])
    everything = {
        a["rule"]["name"] for a in _jsonl(run_cli(["scan", str(path), "-f", "jsonl"], capsys).out)
    }
    assert {"miner_process", "miner_cmdline"} <= everything
    excluded = {
        a["rule"]["name"]
        for a in _jsonl(
            run_cli(
                ["scan", str(path), "-f", "jsonl", "--exclude-rule", "miner_process"], capsys
            ).out
        )
    }
    assert "miner_process" not in excluded and "miner_cmdline" in excluded
    by_uuid = _jsonl(
        run_cli(
            ["scan", str(path), "-f", "jsonl", "--rule", "375d2f9d-55cf-4f75-a670-466ed64205c6"],
            capsys,
        ).out
    )
    assert {a["rule"]["name"] for a in by_uuid} == {"miner_process"}
    assert (
        _jsonl(run_cli(["scan", str(path), "-f", "jsonl", "--min-level", "critical"], capsys).out)
        == []
    )


def test_since_until_filter_on_event_time(capsys: Cap, tmp_path: Path) -> None:
    early = event(MINER, **{"@timestamp": "2026-11-01T00:00:00Z"})
    late = event(MINER, **{"@timestamp": "2026-11-21T00:00:00Z"})
    path = write_lines(tmp_path / "m.ndjson", [early, late])
    args = ["scan", str(path), "-f", "jsonl", "--rule", "miner_process"]
    since = _jsonl(run_cli([*args, "--since", "2026-11-10T00:00:00Z"], capsys).out)
    until = _jsonl(run_cli([*args, "--until", "2026-11-10"], capsys).out)
    assert [a["evidence"][0]["line"] for a in since] == [2]
    assert [a["evidence"][0]["line"] for a in until] == [1]


def test_stdin_is_scanned(capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (json.dumps(BENIGN) + "\n" + json.dumps(MINER) + "\n").encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    alerts = _jsonl(run_cli(["scan", "-", "-f", "jsonl", "--rule", "miner_process"], capsys).out)
    assert [(a["evidence"][0]["file"], a["evidence"][0]["line"]) for a in alerts] == [
        ("<stdin>", 2)
    ]


def test_output_file_and_formats(capsys: Cap, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.ndjson", [MINER])
    out = tmp_path / "alerts.sarif"
    result = run_cli(["scan", str(path), "-f", "sarif", "-o", str(out)], capsys)
    assert result.code == 0 and result.out == ""
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1
    }
    csv_text = run_cli(["scan", str(path), "-f", "csv", "--rule", "miner_process"], capsys).out
    assert csv_text.splitlines()[0].startswith("id,timestamp,level,rule_name")
    assert len(csv_text.splitlines()) == 2


def test_user_sigmahq_rule_is_mapped_to_ecs(capsys: Cap, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bash_true.yml").write_text(
        "title: bash runs true\nid: 0e4c5a4e-1111-4a2b-9c3d-000000000001\nname: bash_true\n"
        "logsource: {category: process_creation, product: linux}\n"
        "detection:\n  sel:\n    CommandLine|endswith: ' -c true'\n  condition: sel\n"
        "level: low\n"
    )
    path = write_lines(tmp_path / "m.ndjson", [BENIGN, MINER])
    alerts = _jsonl(
        run_cli(
            ["scan", str(path), "-f", "jsonl", "--rules", str(rules), "--no-default-rules"], capsys
        ).out
    )
    assert [(a["rule"]["name"], a["evidence"][0]["line"]) for a in alerts] == [("bash_true", 1)]


def test_broken_user_rule_is_reported_with_file_and_line_and_others_run(
    capsys: Cap, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yml").write_text(
        "title: broken\nid: 0e4c5a4e-1111-4a2b-9c3d-000000000002\n"
        "logsource: {category: process_creation}\n"
        "detection:\n  sel:\n    process.name: x\n  condition: sel and missing_sel\n"
    )
    (rules / "bad_yaml.yml").write_text("title: x\ndetection: [unclosed\n")
    (rules / "unknown_field.yml").write_text(
        "title: unknown field\nid: 0e4c5a4e-1111-4a2b-9c3d-000000000003\n"
        "logsource: {category: process_creation}\n"
        "detection:\n  sel:\n    NoSuchField: x\n  condition: sel\n"
    )
    path = write_lines(tmp_path / "m.ndjson", [MINER])
    result = run_cli(["scan", str(path), "-f", "jsonl", "--rules", str(rules)], capsys)
    assert result.code == 3
    err = result.err.replace("\n", " ")
    assert f"{rules / 'broken.yml'}:" in err
    assert f"{rules / 'bad_yaml.yml'}:3" in err or f"{rules / 'bad_yaml.yml'}:2" in err
    assert "NoSuchField" in err
    assert any(a["rule"]["name"] == "miner_process" for a in _jsonl(result.out))


def test_rule_value_with_sql_in_it_cannot_change_the_query(capsys: Cap, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "inject.yml").write_text(
        "title: inject\nid: 0e4c5a4e-1111-4a2b-9c3d-000000000004\nname: inject\n"
        "logsource: {category: process_creation}\n"
        "detection:\n  sel:\n    process.name: \"x' OR 1=1 OR 'a'='a\"\n  condition: sel\n"
    )
    literal = event(BENIGN, **{"process.name": "x' OR 1=1 OR 'a'='a"})
    path = write_lines(tmp_path / "m.ndjson", [BENIGN, MINER, literal])
    alerts = _jsonl(
        run_cli(
            ["scan", str(path), "-f", "jsonl", "--rules", str(rules), "--no-default-rules"], capsys
        ).out
    )
    assert [a["evidence"][0]["line"] for a in alerts] == [3]


def test_rules_list_and_show(capsys: Cap) -> None:
    listing = run_cli(["rules", "list"], capsys)
    assert listing.code == 0
    for slug in (
        "miner_process",
        "miner_cmdline",
        "pool_connection",
        "pool_dns",
        "container_downloader",
        "container_credential_exposure",
        "image_typosquat",
        "miner_then_pool",
    ):
        assert slug in listing.out
    shown = run_cli(["rules", "show", "miner_then_pool"], capsys)
    assert shown.code == 0
    assert "Investigation guide" in shown.out and "Response playbook" in shown.out
    assert "temporal_ordered" in shown.out


def test_truncated_gzip_keeps_what_was_read_and_says_so(capsys: Cap, tmp_path: Path) -> None:
    import gzip

    data = "".join(json.dumps(event(MINER, **{"event.id": f"m{i}"})) + "\n" for i in range(4000))
    packed = gzip.compress(data.encode())
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(packed[: len(packed) // 2])
    result = run_cli(["scan", str(path), "-f", "jsonl", "--rule", "miner_process"], capsys)
    alerts = _jsonl(result.out)
    assert 0 < len(alerts) < 4000
    assert [a["evidence"][0]["line"] for a in alerts] == list(range(1, len(alerts) + 1))
    assert "reading stopped after" in result.err.replace("\n", " ")
    strict = run_cli(["scan", str(path), "-f", "jsonl", "--strict"], capsys)
    assert strict.code == 4
