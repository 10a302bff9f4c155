"""Level of cloud_image_launch per event: owner, trust, visibility, capacity, outcome."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imagehunt.config import CloudTrust, LaunchThresholds
from imagehunt.engine.cloud_launch import (
    ImageInfo,
    assess_launch,
    instance_vcpus,
    learn_images,
    mining_capacity,
)

ACCOUNT = "111122223333"
IMAGES = {
    "ami-own": ImageInfo(owner_id=ACCOUNT),
    "ami-amazon": ImageInfo(owner_id="137112412989", owner_alias="amazon", public=True),
    "ami-vendor": ImageInfo(owner_id="444455556666", public=False),
    "ami-community": ImageInfo(owner_id="777788889999", public=True),
}
TRUST = CloudTrust(trusted_owners=frozenset({"amazon"}))


def launch(image: str | None = None, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event.action": "RunInstances",
        "cloud.account.id": ACCOUNT,
        "aws.ec2.instance_type": "t3.micro",
        "aws.ec2.instance_count": 1,
    }
    if image is not None:
        fields["aws.ec2.image_ids"] = [image]
    fields.update(extra)
    return fields


@pytest.mark.parametrize(
    ("fields", "trust", "level"),
    [
        (launch("ami-own"), TRUST, None),  # routine launch of the account's own image
        (launch("ami-amazon"), TRUST, None),  # trusted owner alias
        (launch("ami-vendor"), TRUST, "medium"),  # known owner, not trusted
        (launch("ami-community"), TRUST, "high"),  # public community image
        (launch("ami-unknown"), CloudTrust(), "low"),  # owner unknown, no trust list
        (launch("ami-unknown"), TRUST, "medium"),  # owner unknown, not in the trust list
        (launch(None), CloudTrust(), "low"),  # launch template: no image id
        (launch("ami-unknown", **{"aws.ec2.instance_type": "p3.2xlarge"}), CloudTrust(), "high"),
        (launch("ami-unknown", **{"aws.ec2.instance_type": "c5.9xlarge"}), CloudTrust(), "high"),
        (launch("ami-unknown", **{"aws.ec2.instance_count": 10}), CloudTrust(), "high"),
        (launch("ami-unknown", **{"aws.ec2.instance_count": 9}), CloudTrust(), "low"),
        (launch("ami-own", **{"aws.ec2.instance_type": "g5.48xlarge"}), TRUST, "low"),
        (
            launch("ami-unknown", **{"aws.cloudtrail.error_code": "Client.UnauthorizedOperation"}),
            CloudTrust(),
            "informational",
        ),
        (
            launch(
                "ami-unknown",
                **{
                    "aws.ec2.instance_type": "p2.xlarge",
                    "aws.ec2.instance_count": 10,
                    "aws.cloudtrail.error_code": "Client.UnauthorizedOperation",
                },
            ),
            CloudTrust(),
            "medium",  # the Stratus "unusual instances" attempt: GPU high, failed: one lower
        ),
        (
            launch("ami-unknown", **{"aws.ec2.instance_type": "p3.2xlarge"}),
            CloudTrust(thresholds=LaunchThresholds(accelerator_families=("g",))),
            "low",  # the user narrowed the accelerator families
        ),
    ],
)
def test_launch_levels(fields: dict[str, Any], trust: CloudTrust, level: str | None) -> None:
    assert assess_launch(fields, IMAGES, trust).level == level


def test_config_inventory_supplies_owners_the_log_lacks() -> None:
    trust = CloudTrust(
        trusted_owners=frozenset({"999900001111"}), image_owners={"ami-x": "999900001111"}
    )
    assert assess_launch(launch("ami-x"), {}, trust).level is None
    assert assess_launch(launch("ami-y"), {}, trust).level == "medium"


@pytest.mark.parametrize(
    ("groups", "accounts", "error", "level"),
    [
        (["all"], None, None, "medium"),
        (None, ["444455556666"], None, "low"),
        (["all"], None, "AuthFailure", "low"),
    ],
)
def test_image_sharing_levels(
    groups: list[str] | None, accounts: list[str] | None, error: str | None, level: str
) -> None:
    fields = {
        "event.action": "ModifyImageAttribute",
        "aws.ec2.image_ids": ["ami-own"],
        "aws.ec2.launch_permission_groups": groups,
        "aws.ec2.launch_permission_accounts": accounts,
        "aws.cloudtrail.error_code": error,
    }
    assert assess_launch(fields, IMAGES, TRUST).level == level


def test_reasons_say_why() -> None:
    fields = launch("ami-community", **{"aws.ec2.instance_type": "g4dn.xlarge"})
    reasons = " ".join(assess_launch(fields, IMAGES, TRUST).reasons)
    assert "ami-community (owner 777788889999)" in reasons
    assert "public (community) image" in reasons
    assert "accelerator instance family g4dn" in reasons


def test_learn_images_from_describe_images_responses() -> None:
    response = {
        "imagesSet": {
            "items": [
                {"imageId": "ami-AAA", "imageOwnerId": "1", "isPublic": True},
                {"imageId": "ami-bbb", "imageOwnerAlias": "amazon", "imageOwnerId": "2"},
                {"imageOwnerId": "3"},  # no image id: ignored
                "junk",
            ]
        }
    }
    images = learn_images([json.dumps(response), None, "{not json", json.dumps([1])])
    assert images == {
        "ami-aaa": ImageInfo(owner_id="1", owner_alias=None, public=True),
        "ami-bbb": ImageInfo(owner_id="2", owner_alias="amazon", public=None),
    }


@pytest.mark.parametrize(
    ("instance_type", "vcpus"),
    [
        ("t3.micro", 1),
        ("m5.large", 2),
        ("c5.xlarge", 4),
        ("c5.9xlarge", 36),
        ("p4d.24xlarge", 96),
        ("m5.metal", 64),
        ("weird", None),
        ("x.huge", None),
    ],
)
def test_instance_vcpus(instance_type: str, vcpus: int | None) -> None:
    assert instance_vcpus(instance_type) == vcpus


def test_accelerator_family_needs_a_digit_after_the_prefix() -> None:
    limits = LaunchThresholds()
    assert mining_capacity({"aws.ec2.instance_type": "gr6.xlarge"}, limits)
    assert not mining_capacity({"aws.ec2.instance_type": "db1.large"}, limits)  # not "dl"
    assert not mining_capacity({"aws.ec2.instance_type": "t3.micro"}, limits)
