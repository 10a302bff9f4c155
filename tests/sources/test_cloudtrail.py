"""AWS CloudTrail reading: every container form, record lines, EC2 details, sniffing."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from imagehunt.engine.detect import run_scan
from imagehunt.errors import ImagehuntError
from imagehunt.rulepack import load_pack
from imagehunt.sources import cloudtrail, cloudtrail_fields
from imagehunt.sources import cloudtrail_layout as layout
from imagehunt.sources.base import Head
from imagehunt.sources.inputs import Input
from imagehunt.sources.sniff import read_rows, sniff
from support.corpus import corpus_dir
from support.events import MINER, write_lines
from support.source_rows import head_of

SAMPLES = Path(__file__).parent / "samples" / "cloudtrail"


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["event.id"]: row for row in rows}


def record(name: str = "RunInstances", **extra: Any) -> dict[str, Any]:
    """A minimal CloudTrail record."""
    base: dict[str, Any] = {
        "eventVersion": "1.08",
        "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.1",
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "111122223333"},
    }
    base.update(extra)
    return base


# ---- container forms and record lines -------------------------------------------------------
FORMS = {
    # sample: (rows' lines, problems' lines)
    "s3_records_compact.json": ([1, 1, 1, 1, 1], []),
    "s3_records_pretty.json": ([3, 41], [33, 33]),
    "array_irregular.json": ([1, 4, 10], [9]),
    "stratus_array.json": ([2, 31], []),
    "single_record.json": ([2], []),
    "records.ndjson": ([1, 5, 5, 6], [3, 4, 7]),
    "logstash.ndjson": ([1, 2], []),
    "filebeat.ndjson": ([1, 2, 3], []),
    "elastic_processed.ndjson": ([1, 2, 3], []),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_container_form_gives_records_at_their_opening_line(name: str) -> None:
    rows, problems = read_rows(SAMPLES / name, "cloudtrail")
    lines, problem_lines = FORMS[name]
    assert [row["_line"] for row in rows] == lines
    assert [line for line, _ in problems.first] == problem_lines
    assert problems.count == len(problem_lines)
    assert {row["_format"] for row in rows} == {"cloudtrail"}
    assert {row["_file"] for row in rows} == {name}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_gzip_gives_the_same_rows(name: str, tmp_path: Path) -> None:
    packed = tmp_path / (name + ".gz")
    packed.write_bytes(gzip.compress((SAMPLES / name).read_bytes()))
    plain, _ = read_rows(SAMPLES / name, "cloudtrail")
    unpacked, problems = read_rows(packed, "cloudtrail")
    strip = [{k: v for k, v in r.items() if k != "_file"} for r in unpacked]
    assert strip == [{k: v for k, v in r.items() if k != "_file"} for r in plain]
    assert problems.count == len(FORMS[name][1])
    assert sniff(packed) == ("cloudtrail", "")


def test_braces_in_strings_do_not_move_record_starts() -> None:
    rows, problems = read_rows(SAMPLES / "s3_records_pretty.json", "cloudtrail")
    first, last = rows
    assert first["user_agent.original"].startswith('odd-agent/1.0 {"Records": [{')
    assert last["aws.cloudtrail.error_message"].endswith('C:\\temp\\ {"a": [1, 2]} \\')
    assert "without eventName" in problems.first[0][1]
    assert "JSON int" in problems.first[1][1]


def test_exact_scanner_and_indentation_shortcut_agree() -> None:
    data = (SAMPLES / "s3_records_pretty.json").read_bytes()
    exact = [start for start, _ in layout.element_spans(data, in_records=True)]
    assert layout.element_starts(data, in_records=True, expected=3) == exact
    assert layout.line_numbers(data, exact) == [3, 33, 41]


def test_scanner_skips_brackets_escapes_and_other_keys() -> None:
    doc = {
        "before": [{"x": 1}],
        "note": 'a "Records": [ {',
        "Records": [{"k": '}\\"]{'}, [1, {"n": "["}], {"e": ""}],
        "after": [{"y": 2}],
    }
    data = json.dumps(doc).encode()
    spans = list(layout.element_spans(data, in_records=True))
    assert [orjson.loads(data[a:b]) for a, b in spans] == doc["Records"]


def test_scanner_stops_quietly_on_a_cut_document() -> None:
    data = b'[{"a": "x"}, {"b": "unterminated'
    assert list(layout.element_spans(data, in_records=False)) == [(1, 11)]


def test_irregular_layout_falls_back_to_the_exact_scanner(tmp_path: Path) -> None:
    records = [record(eventID=str(i)) for i in range(4)]
    text = "[\n  " + ",\n    ".join(json.dumps(r) for r in records) + "\n]\n"
    path = tmp_path / "mixed.json"
    path.write_text(text)
    rows, problems = read_rows(path, "cloudtrail")
    assert [row["_line"] for row in rows] == [2, 3, 4, 5]
    assert problems.count == 0


def test_generated_pretty_file_lines_match_json_positions(tmp_path: Path) -> None:
    records = [record(eventID=str(i), userAgent="{" * (i % 3) + "]" * i) for i in range(50)]
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps({"Records": records}, indent=4))
    rows, _ = read_rows(path, "cloudtrail")
    lines = path.read_text().splitlines()
    opening = [n for n, line in enumerate(lines, 1) if line == "        {"]
    assert [row["_line"] for row in rows] == opening
    assert [row["event.id"] for row in rows] == [str(i) for i in range(50)]


# ---- malformed input ------------------------------------------------------------------------
def test_invalid_document_is_one_problem_at_the_failing_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('[\n  {\n    "eventName": "RunInstances",\n    "eventSource": \n')
    rows, problems = read_rows(path, "cloudtrail")
    assert rows == []
    assert problems.count == 1
    line, reason = problems.first[0]
    assert line == 5 and "not valid JSON" in reason


def test_ndjson_with_a_broken_first_line_keeps_the_rest(tmp_path: Path) -> None:
    good = json.dumps(record(eventID="ok"))
    path = write_lines(tmp_path / "a.ndjson", ['{"eventName": "RunInstances", oops}', good, good])
    rows, problems = read_rows(path, "cloudtrail")
    assert [row["_line"] for row in rows] == [2, 3]
    assert problems.first[0][0] == 1 and problems.count == 1


def test_overlong_line_is_skipped_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloudtrail, "MAX_LINE_BYTES", 400)
    small = json.dumps(record(eventID="small"))
    big = json.dumps(record(eventID="big", userAgent="x" * 1000))
    path = write_lines(tmp_path / "a.ndjson", [small, big, small])
    rows, problems = read_rows(path, "cloudtrail")
    assert [row["_line"] for row in rows] == [1, 3]
    assert problems.first == [(2, "line longer than 400 bytes")]


def test_one_line_records_file_longer_than_a_line_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloudtrail, "MAX_LINE_BYTES", 500)
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": [record(eventID=str(i)) for i in range(10)]}) + "\n")
    rows, problems = read_rows(path, "cloudtrail")
    assert [row["_line"] for row in rows] == [1] * 10
    assert [row["event.id"] for row in rows] == [str(i) for i in range(10)]
    assert problems.count == 0


def test_document_over_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloudtrail, "MAX_DOCUMENT_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"Records": [record(eventID=str(i)) for i in range(20)]}, indent=2))
    with pytest.raises(ImagehuntError, match="not read whole"):
        read_rows(path, "cloudtrail")
    outcome = run_scan(load_pack(select=["miner_process"]), [Input(path, "big", "cloudtrail")])
    assert "not read whole" in outcome.inputs[0].skipped_reason


# ---- mapping --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compact() -> dict[str, dict[str, Any]]:
    rows, problems = read_rows(SAMPLES / "s3_records_compact.json", "cloudtrail")
    assert problems.count == 0
    return by_id(rows)


def test_run_instances_fields(compact: dict[str, dict[str, Any]]) -> None:
    row = compact["e0000001-0000-4000-8000-000000000001"]
    assert row["event.action"] == "RunInstances"
    assert row["event.provider"] == "ec2.amazonaws.com"
    assert (row["event.kind"], row["event.module"], row["event.dataset"]) == (
        "event",
        "aws",
        "aws.cloudtrail",
    )
    assert row["event.outcome"] == "success"
    assert row["@timestamp"].isoformat() == "2026-11-20T10:00:00+00:00"
    assert row["aws.ec2.image_ids"] == ["ami-0c0ffee1234567890"]
    assert row["aws.ec2.instance_type"] == "p3.16xlarge"
    assert row["aws.ec2.instance_count"] == 20
    assert (row["cloud.provider"], row["cloud.region"], row["cloud.account.id"]) == (
        "aws",
        "us-east-1",
        "111122223333",
    )
    assert row["user.name"] == "ci-deployer"  # the role, from sessionIssuer
    assert row["user.id"] == "AROAEXAMPLEROLEID0001:build-session"
    assert row["aws.cloudtrail.user_identity.type"] == "AssumedRole"
    assert row["aws.cloudtrail.user_identity.access_key_id"] == "ASIAEXAMPLEKEY000001"
    assert row["aws.cloudtrail.user_identity.arn"].endswith(
        "assumed-role/ci-deployer/build-session"
    )
    assert (row["source.ip"], row["source.address"]) == ("203.0.113.7", "203.0.113.7")
    assert row["user_agent.original"].startswith("aws-cli/2.15.0")
    request = json.loads(row["aws.cloudtrail.request_parameters"])
    assert request["instancesSet"]["items"][0]["maxCount"] == 20
    response = json.loads(row["aws.cloudtrail.response_elements"])
    assert response["reservationId"] == "r-0123456789abcdef0"


def test_image_made_public_and_shared_with_accounts(compact: dict[str, dict[str, Any]]) -> None:
    public = compact["e0000001-0000-4000-8000-000000000002"]
    assert public["aws.ec2.image_ids"] == ["ami-0facade000000aaaa"]
    assert public["aws.ec2.launch_permission_groups"] == ["all"]
    assert public["aws.ec2.launch_permission_accounts"] is None
    shared = compact["e0000001-0000-4000-8000-000000000003"]
    assert shared["aws.ec2.launch_permission_accounts"] == ["444455556666", "777788889999"]
    assert shared["aws.ec2.launch_permission_groups"] is None  # "remove" items are not added


def test_describe_images_and_a_service_as_source(compact: dict[str, dict[str, Any]]) -> None:
    row = compact["e0000001-0000-4000-8000-000000000004"]
    assert row["aws.ec2.image_ids"] == ["ami-0c0ffee1234567890", "ami-0facade000000aaaa"]
    assert row["source.address"] == "autoscaling.amazonaws.com"
    assert row["source.ip"] is None
    assert row["aws.cloudtrail.response_elements"] is None
    assert row["user.name"] is None and row["aws.cloudtrail.user_identity.type"] == "AWSService"


def test_launch_template_ipv6_source_and_failure(compact: dict[str, dict[str, Any]]) -> None:
    row = compact["e0000001-0000-4000-8000-000000000005"]
    assert row["aws.ec2.image_ids"] is None
    assert row["aws.ec2.instance_count"] == 2
    assert "lt-0abcdef1234567890" in row["aws.cloudtrail.request_parameters"]
    assert row["source.ip"] == "2001:db8::42"
    assert row["event.outcome"] == "failure"
    assert row["aws.cloudtrail.error_code"] == "Client.InvalidLaunchTemplateId.NotFound"


def test_other_forms_map_the_same_fields() -> None:
    stratus = by_id(read_rows(SAMPLES / "stratus_array.json", "cloudtrail")[0])
    launch = stratus["e0000004-0000-4000-8000-000000000002"]
    assert launch["aws.ec2.instance_type"] == "p4d.24xlarge"
    assert launch["aws.ec2.instance_count"] == 8
    assert launch["event.outcome"] == "failure"
    assert launch["user.name"] == "gpu-launcher"
    (copy,) = read_rows(SAMPLES / "single_record.json", "cloudtrail")[0]
    assert copy["aws.ec2.image_ids"] == ["ami-0deadbeef0000f00d"]  # the source, not the copy
    assert copy["user.name"] == "i-0123456789abcdef0"  # no sessionIssuer: the session name
    assert copy["source.ip"] is None and copy["source.address"] == "ec2.amazonaws.com"


def test_ndjson_rows(tmp_path: Path) -> None:
    rows = read_rows(SAMPLES / "records.ndjson", "cloudtrail")[0]
    login, describe, deregister, launch = rows
    assert login["event.outcome"] == "failure"  # errorMessage without errorCode (ConsoleLogin)
    assert login["aws.cloudtrail.error_code"] is None
    assert describe["aws.ec2.image_ids"] == ["ami-0single0000000000a"]  # items as one object
    assert describe["cloud.account.id"] == "111122223333"  # from userIdentity
    assert deregister["aws.ec2.image_ids"] == ["ami-0gone00000000000b"]
    assert launch["aws.ec2.instance_count"] == 3  # minCount when maxCount is absent
    _, problems = read_rows(SAMPLES / "records.ndjson", "cloudtrail")
    reasons = [reason for _, reason in problems.first]
    assert reasons[0].startswith("invalid JSON")
    assert "without eventName/eventSource" in reasons[1]
    assert "JSON str" in reasons[2]


def test_logstash_timestamp_and_wrapped_records() -> None:
    first, second = read_rows(SAMPLES / "logstash.ndjson", "cloudtrail")[0]
    assert first["@timestamp"].isoformat() == "2026-11-20T16:00:00+00:00"
    assert second["user.name"] == "web-instance-role"
    wrapped = read_rows(SAMPLES / "filebeat.ndjson", "cloudtrail")[0]
    assert [row["aws.ec2.instance_type"] for row in wrapped] == ["g5.48xlarge", None, "t3.micro"]
    assert wrapped[0]["@timestamp"].isoformat() == "2026-11-20T17:00:00+00:00"  # not ingest time
    assert wrapped[1]["aws.ec2.launch_permission_groups"] == ["all"]  # from event.original
    assert wrapped[2]["aws.ec2.image_ids"] == ["ami-0eb0000000000000b"]  # EventBridge detail


def test_elastic_documents_without_the_raw_record() -> None:
    launch, share, hit = read_rows(SAMPLES / "elastic_processed.ndjson", "cloudtrail")[0]
    assert launch["aws.ec2.image_ids"] == ["ami-0e1a571c00000000a"]
    assert (launch["aws.ec2.instance_type"], launch["aws.ec2.instance_count"]) == ("p3.8xlarge", 6)
    assert json.loads(launch["aws.cloudtrail.request_parameters"])["instanceType"] == "p3.8xlarge"
    assert launch["aws.cloudtrail.user_identity.arn"] == "arn:aws:iam::111122223333:user/hank"
    assert (launch["user.name"], launch["source.ip"], launch["event.module"]) == (
        "hank",
        "192.0.2.40",
        "aws",
    )
    assert share["aws.ec2.launch_permission_groups"] == ["all"]  # dotted keys
    assert hit["event.action"] == "GetCallerIdentity"  # inside an Elasticsearch hit
    assert hit["@timestamp"].isoformat() == "2026-11-20T18:02:00+00:00"


def test_request_text_is_bounded(tmp_path: Path) -> None:
    big = record(eventID="big", requestParameters={"userData": "A" * 100_000})
    path = write_lines(tmp_path / "a.ndjson", [big])
    (row,) = read_rows(path, "cloudtrail")[0]
    text = row["aws.cloudtrail.request_parameters"]
    assert len(text) < cloudtrail_fields.MAX_JSON_TEXT + 100
    assert text.endswith("...[truncated: 100015 bytes]")


def test_odd_field_types_never_fail(tmp_path: Path) -> None:
    odd = record(
        eventID=["x"],
        eventTime={"a": 1},
        userIdentity="not an object",
        sourceIPAddress=17,
        requestParameters={"instancesSet": {"items": "nope"}, "instanceType": 5},
        errorCode="",
    )
    path = write_lines(tmp_path / "a.ndjson", [odd])
    (row,) = read_rows(path, "cloudtrail")[0]
    assert row["@timestamp"] is None and row["user.name"] is None
    assert row["source.ip"] is None and row["source.address"] == "17"
    assert row["aws.ec2.image_ids"] is None and row["aws.ec2.instance_type"] is None
    assert row["event.outcome"] == "success"


def test_damaged_files_never_crash_and_never_lose_records_silently(tmp_path: Path) -> None:
    """Seeded random cuts, byte changes and bracket bombs of every sample."""
    rng = random.Random(20261122)
    samples = sorted(SAMPLES.iterdir())
    for number in range(300):
        data = bytearray(rng.choice(samples).read_bytes())
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data) + 1)
            choice = rng.random()
            if choice < 0.3:
                del data[at:]
            elif choice < 0.6 and at < len(data):
                data[at] = rng.choice(b'{}[]",:\\\n x0')
            elif choice < 0.9:
                data[at:at] = bytes(rng.choice(b'{}[]",:\n') for _ in range(rng.randint(1, 5)))
            else:
                data[at:at] = b"[" * 3000
        path = tmp_path / f"damaged{number}.json"
        path.write_bytes(bytes(data))
        try:
            rows, problems = read_rows(path, "cloudtrail")
        except ImagehuntError:  # only the size limit may refuse a file
            raise AssertionError(f"sample {number} refused") from None
        cloudtrail.sniff(Head(name=path.name, data=bytes(data[:65536])))
        if bytes(data).strip():
            assert rows or problems.count, f"damaged sample {number} read as nothing"


# ---- sniffing -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FORMS))
def test_samples_are_sniffed_as_cloudtrail(name: str) -> None:
    assert sniff(SAMPLES / name) == ("cloudtrail", "")


def test_sniff_beyond_the_head(tmp_path: Path) -> None:
    many = {"Records": [record(eventID=str(i)) for i in range(2000)]}
    one_line = tmp_path / "long.json"
    one_line.write_text(json.dumps(many))  # first line far longer than the 64 KiB head
    assert cloudtrail.sniff(head_of(one_line))
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps([record(requestParameters={"x": "y" * 100_000})], indent=2))
    assert cloudtrail.sniff(head_of(huge))
    assert len(read_rows(huge, "cloudtrail")[0]) == 1


NOT_CLOUDTRAIL: dict[str, str] = {
    "ecs.ndjson": json.dumps(MINER) + "\n",
    "ecs_with_provider.ndjson": json.dumps(
        {
            "@timestamp": "2026-11-20T10:00:00Z",
            "event": {"action": "RunInstances", "provider": "ec2.amazonaws.com"},
            "cloud": {"provider": "aws"},
        }
    )
    + "\n",
    "k8s_audit.ndjson": json.dumps(
        {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "create", "stage": "Done"}
    )
    + "\n",
    "config.json": json.dumps({"name": "x", "items": [{"eventName": "a"}]}, indent=2),
    "no_version.ndjson": json.dumps({"eventName": "RunInstances", "eventSource": "ec2"}) + "\n",
    "array.json": json.dumps([{"eventSource": "x", "name": "y"}], indent=2),
    "text.log": "Nov 20 10:00:00 host sshd[1]: eventName eventSource eventVersion\n",
}


@pytest.mark.parametrize("name", sorted(NOT_CLOUDTRAIL))
def test_other_json_is_not_claimed(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(NOT_CLOUDTRAIL[name])
    assert not cloudtrail.sniff(head_of(path))
    assert sniff(path)[0] != "cloudtrail"


def test_ecs_ndjson_goes_to_the_ecs_reader(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "events.ndjson", [MINER, MINER])
    assert sniff(path) == ("ecs", "")


# ---- end to end -----------------------------------------------------------------------------
CLOUD_RULES = """\
title: GPU instances launched
id: 6f0f2b52-6a55-4b55-a9b1-1d7c0a3e5c01
name: test_gpu_launch
logsource: {product: aws, service: cloudtrail}
detection:
  launch:
    event.action: RunInstances
    aws.ec2.instance_type|startswith: ['p2.', 'p3.', 'p4d.', 'g5.']
  condition: launch
level: medium
---
title: AMI made public
id: 6f0f2b52-6a55-4b55-a9b1-1d7c0a3e5c02
name: test_ami_public
logsource: {product: aws, service: cloudtrail}
detection:
  share:
    event.action: ModifyImageAttribute
    aws.ec2.launch_permission_groups: all
  condition: share
level: high
"""


def test_rules_on_cloudtrail_fields_fire_with_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cloud.yml").write_text(CLOUD_RULES)
    pack = load_pack([rules], include_builtin=False)
    assert not pack.errors
    names = ["s3_records_compact.json", "stratus_array.json", "filebeat.ndjson"]
    inputs = [Input(SAMPLES / n, n, "cloudtrail") for n in names]
    outcome = run_scan(pack, inputs)
    found = sorted((a.rule.name, a.evidence[0].file, a.evidence[0].line) for a in outcome.alerts)
    assert found == [
        ("test_ami_public", "filebeat.ndjson", 2),
        ("test_ami_public", "s3_records_compact.json", 1),
        ("test_gpu_launch", "filebeat.ndjson", 1),
        ("test_gpu_launch", "s3_records_compact.json", 1),
        ("test_gpu_launch", "stratus_array.json", 31),
    ]
    assert {a.evidence[0].format for a in outcome.alerts} == {"cloudtrail"}


HOST_RULES = [
    "miner_process",
    "miner_cmdline",
    "pool_connection",
    "pool_dns",
    "container_downloader",
    "container_credential_exposure",
    "image_typosquat",
    "image_malicious_namespace",
]


def _sample_inputs(tmp_path: Path) -> list[Input]:
    folder = tmp_path / "logs"
    shutil.copytree(SAMPLES, folder)
    paths = sorted(folder.iterdir())
    return [Input(p, p.name, sniff(p)[0]) for p in paths]


def test_host_rules_stay_silent_on_cloudtrail(tmp_path: Path) -> None:
    inputs = _sample_inputs(tmp_path)
    assert {i.format for i in inputs} == {"cloudtrail"}
    outcome = run_scan(load_pack(select=HOST_RULES), inputs)
    assert outcome.alerts == []
    assert outcome.events == sum(len(lines) for lines, _ in FORMS.values())
    assert outcome.problems == sum(len(problems) for _, problems in FORMS.values())


def test_shipped_cloud_image_rule_fires_on_launches_and_shares(tmp_path: Path) -> None:
    outcome = run_scan(load_pack(select=["cloud_image_launch"]), _sample_inputs(tmp_path))
    assert {a.rule.name for a in outcome.alerts} == {"cloud_image_launch"}
    evidence = sorted({(a.evidence[0].file, a.evidence[0].line) for a in outcome.alerts})
    assert evidence == [
        ("elastic_processed.ndjson", 1),  # RunInstances indexed by Elastic
        ("elastic_processed.ndjson", 2),  # public AMI, dotted keys
        ("filebeat.ndjson", 1),  # RunInstances under "json"
        ("filebeat.ndjson", 2),  # ModifyImageAttribute (public) in event.original
        ("filebeat.ndjson", 3),  # RunInstances in an EventBridge event
        ("records.ndjson", 6),  # RunInstances in a one-line array
        ("s3_records_compact.json", 1),  # 2 RunInstances, public AMI, AMI shared
        ("stratus_array.json", 31),  # RunInstances of p4d.24xlarge
    ]
    compact = [a for a in outcome.alerts if a.evidence[0].file == "s3_records_compact.json"]
    assert len(compact) == 4


# ---- corpus ---------------------------------------------------------------------------------
def _expected_count(path: Path) -> int:
    """Records in a corpus file, counted with the standard library (not the reader)."""
    text = path.read_text()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return sum(1 for line in text.splitlines() if line.strip())
    if isinstance(doc, dict):
        return len(doc["Records"]) if "Records" in doc else 1
    return len(doc)


def test_corpus_files_parse_completely() -> None:
    folder = corpus_dir("cloudtrail")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert len(files) >= 3
    total = 0
    for path in files:
        assert sniff(path) == ("cloudtrail", ""), path
        rows, problems = read_rows(path, "cloudtrail")
        assert problems.count == 0, (path, problems.first)
        assert len(rows) == _expected_count(path), path
        total += len(rows)
    counts = {p.name: len(read_rows(p, "cloudtrail")[0]) for p in files}
    assert counts["otrf_ec2_proxy_s3_exfiltration.ndjson"] == 103
    assert counts["elastic_integrations_test-run-instances-json.log"] == 1
    assert counts["aws.execution.ec2-launch-unusual-instances.json"] == 3
    assert total == sum(_expected_count(p) for p in files)


def test_corpus_unusual_instances_launch() -> None:
    path = corpus_dir("cloudtrail") / "stratus_detonation_logs"
    rows, _ = read_rows(path / "aws.execution.ec2-launch-unusual-instances.json", "cloudtrail")
    (launch,) = [r for r in rows if r["event.action"] == "RunInstances"]
    assert launch["_line"] == 2  # its opening brace; "eventName" is on line 8
    assert launch["aws.ec2.instance_type"] == "p2.xlarge"
    assert launch["aws.ec2.instance_count"] == 10
    assert launch["aws.ec2.image_ids"] == ["ami-aCBbfd13bdb1d1E4b"]
    assert launch["aws.cloudtrail.error_code"] == "Client.UnauthorizedOperation"
    assert launch["event.outcome"] == "failure"
    assert [r["_line"] for r in rows] == [2, 66, 118]
    share = read_rows(path / "aws.exfiltration.ec2-share-ami.json", "cloudtrail")[0][0]
    assert share["aws.ec2.launch_permission_accounts"] == ["846424999548"]


def test_corpus_logstash_and_elastic_files() -> None:
    folder = corpus_dir("cloudtrail")
    otrf, _ = read_rows(folder / "otrf_ec2_proxy_s3_exfiltration.ndjson", "cloudtrail")
    assert [r["_line"] for r in otrf] == list(range(1, 104))
    assert all(r["@timestamp"] is not None for r in otrf)
    elastic_log = folder / "elastic_integrations_test-run-instances-json.log"
    (elastic,) = read_rows(elastic_log, "cloudtrail")[0]
    assert elastic["aws.ec2.image_ids"] == ["ami-00a4cd63f089232e0"]
    assert elastic["aws.ec2.instance_type"] == "t1.micro"


# ---- launches from a launch template ---------------------------------------------------------
def _template_launch(response: Any) -> dict[str, Any]:
    return record(
        requestParameters={
            "instancesSet": {"items": [{"minCount": 3, "maxCount": 3}]},
            "launchTemplate": {"launchTemplateId": "lt-0abc1234def567890", "version": "$Latest"},
        },
        responseElements=response,
    )


def test_a_template_launch_takes_image_and_type_from_the_launched_instances() -> None:
    launched = {
        "instancesSet": {
            "items": [
                {"instanceId": f"i-0{n}", "imageId": "ami-0aa11bb22cc33dd44", "instanceType": t}
                for n, t in ((1, "c6i.large"), (2, "c6i.large"), (3, "c6i.large"))
            ]
        }
    }
    values = cloudtrail_fields.record_values(_template_launch(launched))
    assert values["aws.ec2.image_ids"] == ["ami-0aa11bb22cc33dd44"]
    assert values["aws.ec2.instance_type"] == "c6i.large"
    assert values["aws.ec2.instance_count"] == 3


def test_a_failed_template_launch_names_no_image() -> None:
    values = cloudtrail_fields.record_values(_template_launch(None))
    assert "aws.ec2.image_ids" not in values and "aws.ec2.instance_type" not in values
    assert values["aws.ec2.instance_count"] == 3


def test_the_request_image_wins_over_the_response() -> None:
    rec = record(
        requestParameters={"instancesSet": {"items": [{"imageId": "ami-0request00000000a"}]}},
        responseElements={"instancesSet": {"items": [{"imageId": "ami-0other000000000b"}]}},
    )
    assert cloudtrail_fields.record_values(rec)["aws.ec2.image_ids"] == ["ami-0request00000000a"]


def test_mixed_instance_types_in_a_response_set_no_type() -> None:
    launched = {
        "instancesSet": {
            "items": [
                {"imageId": "ami-0aa11bb22cc33dd44", "instanceType": "c6i.large"},
                {"imageId": "ami-0aa11bb22cc33dd44", "instanceType": "p3.2xlarge"},
            ]
        }
    }
    values = cloudtrail_fields.record_values(_template_launch(launched))
    assert "aws.ec2.instance_type" not in values
