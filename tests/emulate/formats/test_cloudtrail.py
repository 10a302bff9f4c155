"""CloudTrail writer: S3 delivery shape, record validity, real-sample comparison, read-back."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from imagehunt.emulate.formats import cloudtrail
from support.corpus import corpus_dir
from support.emulate_common import at, read_back
from support.emulate_steps_infra import (
    ACCOUNT,
    COMMUNITY_AMI,
    ROLE_ARN,
    RUN_REQUEST_ID,
    USER_ARN,
    cloud_scenario,
    network_scenario,
)

# Record fields CloudTrail's record-contents reference marks "Optional: False" for
# management events, with the JSON types they carry (None: the value may be null).
ALWAYS_PRESENT: dict[str, tuple[type, ...]] = {
    "eventTime": (str,),
    "eventVersion": (str,),
    "userIdentity": (dict,),
    "eventSource": (str,),
    "eventName": (str,),
    "awsRegion": (str,),
    "sourceIPAddress": (str,),
    "userAgent": (str,),
    "requestParameters": (dict, type(None)),
    "responseElements": (dict, type(None)),
    "eventID": (str,),
    "eventType": (str,),
    "eventCategory": (str,),
}
# Optional fields this writer always fills for API calls, with their types.
FILLED_OPTIONAL: dict[str, type] = {
    "requestID": str,
    "readOnly": bool,
    "managementEvent": bool,
    "recipientAccountId": str,
    "tlsDetails": dict,
}
RECORD_ORDER = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
    "tlsDetails",
]


def _records(seed: int = 7) -> list[dict[str, Any]]:
    document = json.loads(cloudtrail.write(cloud_scenario(seed)))
    assert list(document) == ["Records"]
    records = document["Records"]
    assert isinstance(records, list)
    return records


def test_file_is_one_records_document_on_one_line() -> None:
    text = cloudtrail.write(cloud_scenario())
    assert text.startswith('{"Records":[{"eventVersion":')
    assert text.endswith("}]}\n")
    assert text.count("\n") == 1


def test_every_record_is_valid_per_the_record_contents_reference() -> None:
    records = _records()
    assert [r["eventName"] for r in records] == [
        "DescribeImages",
        "RunInstances",
        "RunInstances",
        "StopInstances",
    ]
    for record in records:
        for name, types in ALWAYS_PRESENT.items():
            assert isinstance(record[name], types), name
        for name, kind in FILLED_OPTIONAL.items():
            assert isinstance(record[name], kind), name
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", record["eventTime"])
        assert re.match(r"^1\.\d\d$", record["eventVersion"])
        assert str(uuid.UUID(record["eventID"])) == record["eventID"]
        assert record["eventSource"].endswith(".amazonaws.com")
        assert record["eventType"] == "AwsApiCall"
        assert record["eventCategory"] == "Management"
        assert record["managementEvent"] is True
        assert re.match(r"^\d{12}$", record["recipientAccountId"])
        identity = record["userIdentity"]
        assert identity["type"] in ("IAMUser", "AssumedRole")
        assert (identity["accountId"], identity["arn"][:8]) == (ACCOUNT, "arn:aws:")
        assert record["tlsDetails"]["clientProvidedHostHeader"] == "ec2.us-east-1.amazonaws.com"
    assert len({r["eventID"] for r in records}) == len(records)


def test_fields_come_in_cloudtrails_order() -> None:
    describe, run, failed, _ = _records()
    assert list(run) == RECORD_ORDER
    error_at = RECORD_ORDER.index("requestParameters")
    assert list(failed) == [
        *RECORD_ORDER[:error_at],
        "errorCode",
        "errorMessage",
        *RECORD_ORDER[error_at:],
    ]
    assert list(describe["userIdentity"]) == [
        "type",
        "principalId",
        "arn",
        "accountId",
        "accessKeyId",
        "sessionContext",
    ]
    assert list(run["userIdentity"]) == [
        "type",
        "principalId",
        "arn",
        "accountId",
        "accessKeyId",
        "userName",
    ]


def test_identities_ids_and_responses() -> None:
    describe, run, failed, stop = _records()
    role = describe["userIdentity"]
    assert role["arn"] == ROLE_ARN
    assert re.match(r"^AROA[A-Z2-7]{17}:gitlab-runner$", role["principalId"])
    issuer = role["sessionContext"]["sessionIssuer"]
    assert issuer["arn"] == f"arn:aws:iam::{ACCOUNT}:role/platform-deploy"
    assert issuer["userName"] == "platform-deploy"
    assert role["principalId"].startswith(issuer["principalId"] + ":")
    created = role["sessionContext"]["attributes"]["creationDate"]
    assert created < describe["eventTime"]
    assert describe["readOnly"] is True
    assert describe["responseElements"] is None
    user = run["userIdentity"]
    assert user["arn"] == USER_ARN
    assert user["userName"] == "ci-deployer"
    assert re.match(r"^AIDA[A-Z2-7]{17}$", user["principalId"])
    assert run["requestID"] == RUN_REQUEST_ID  # EC2 repeats it in the response
    assert run["responseElements"]["instancesSet"]["items"][0]["imageId"] == COMMUNITY_AMI
    assert run["eventTime"] == "2026-11-20T09:14:09Z"
    assert failed["errorCode"] == "Client.UnauthorizedOperation"
    assert failed["responseElements"] is None
    assert stop["requestParameters"]["instancesSet"]["items"][0]["instanceId"].startswith("i-")
    assert stop["responseElements"]["instancesSet"]["items"][0]["currentState"]["name"] == (
        "stopping"
    )


def _sample(records: list[dict[str, Any]], name: str, identity: str) -> dict[str, Any]:
    return next(
        r for r in records if r["eventName"] == name and r["userIdentity"]["type"] == identity
    )


def test_records_have_the_keys_of_real_records() -> None:
    folder = corpus_dir("cloudtrail") / "stratus_detonation_logs"
    launch = json.loads((folder / "aws.execution.ec2-launch-unusual-instances.json").read_text())
    user_data = json.loads((folder / "aws.execution.ec2-user-data.json").read_text())
    real_failed = _sample(launch, "RunInstances", "AssumedRole")
    real_stop = _sample(user_data, "StopInstances", "IAMUser")
    describe, _, failed, stop = _records()
    assert set(failed) == set(real_failed)
    assert set(stop) == set(real_stop)
    assert set(stop["userIdentity"]) == set(real_stop["userIdentity"])
    real_role = real_failed["userIdentity"]
    assert set(describe["userIdentity"]) == set(real_role)
    assert set(describe["userIdentity"]["sessionContext"]) == set(real_role["sessionContext"])
    assert set(describe["tlsDetails"]) == set(real_stop["tlsDetails"])


def test_read_back_gives_exact_fields(tmp_path: Path) -> None:
    path = tmp_path / "734281960452_CloudTrail_us-east-1.json"
    rows, problems = read_back(path, cloudtrail.write(cloud_scenario()), "cloudtrail")
    assert problems.count == 0
    assert len(rows) == 4
    describe, run, failed, stop = rows
    assert describe["user.name"] == "platform-deploy"
    assert describe["aws.cloudtrail.user_identity.type"] == "AssumedRole"
    assert describe["aws.ec2.image_ids"] == [COMMUNITY_AMI]
    assert run["@timestamp"] == at(2).replace(microsecond=0)
    assert (run["event.action"], run["event.provider"]) == ("RunInstances", "ec2.amazonaws.com")
    assert run["event.outcome"] == "success"
    assert run["user.name"] == "ci-deployer"
    assert run["aws.cloudtrail.user_identity.arn"] == USER_ARN
    assert run["source.ip"] == "81.2.69.160"
    assert (run["cloud.region"], run["cloud.account.id"]) == ("us-east-1", ACCOUNT)
    assert run["aws.ec2.image_ids"] == [COMMUNITY_AMI]
    assert (run["aws.ec2.instance_type"], run["aws.ec2.instance_count"]) == ("t3.medium", 1)
    assert failed["event.outcome"] == "failure"
    assert failed["aws.cloudtrail.error_code"] == "Client.UnauthorizedOperation"
    assert failed["aws.ec2.instance_count"] == 10
    assert failed["aws.cloudtrail.response_elements"] is None
    assert stop["event.action"] == "StopInstances"


def test_no_api_call_gives_no_file() -> None:
    assert cloudtrail.write(network_scenario()) == ""


@pytest.mark.parametrize(
    ("source", "host"),
    [
        ("ec2.amazonaws.com", "ec2.eu-west-3.amazonaws.com"),
        ("sts.amazonaws.com", "sts.eu-west-3.amazonaws.com"),
        ("iam.amazonaws.com", "iam.amazonaws.com"),
    ],
)
def test_endpoint_host(source: str, host: str) -> None:
    assert cloudtrail.endpoint_host(source, "eu-west-3") == host


def test_same_seed_same_text_other_seed_other_ids() -> None:
    assert cloudtrail.write(cloud_scenario(7)) == cloudtrail.write(cloud_scenario(7))
    same, other = _records(7), _records(8)
    # ids the steps give are kept; the generated ones (failed call) change with the seed
    assert same[0]["eventID"] == other[0]["eventID"]
    assert same[2]["eventID"] != other[2]["eventID"]
    assert same[2]["requestID"] != other[2]["requestID"]
