"""Per-event level of the cloud_image_launch rule.

A RunInstances record names the image but not its owner, and imagehunt has no network at run
time. Owners come from DescribeImages responses in the same scan and from the config
(``cloud.image_owners``); trust comes from the config (``cloud.trusted_images``,
``cloud.trusted_image_owners``). The decision, in order:

* launch of images that are all trusted or owned by the calling account: no alert, or ``low``
  when the launch looks like mining capacity (an official image on 20 GPU instances is still
  worth a look, but routine fleets must not page anyone);
* owner known, neither the account nor trusted: ``medium``; ``high`` when the image is public
  (a community image);
* owner unknown: ``low`` when no trust list is configured, ``medium`` when one is (the image
  is then, by the user's own list, not trusted);
* mining capacity (accelerator family, >= min vCPUs, >= min instance count): ``high``;
* ModifyImageAttribute: launch permission for ``all`` (image made public) ``medium``, shared
  with accounts ``low``;
* a failed call (errorCode) is one level lower.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from imagehunt.alerts.model import LEVELS
from imagehunt.config import CloudTrust, LaunchThresholds

_SIZE = re.compile(r"^(?:(\d+)xlarge|xlarge|large|medium|small|micro|nano|metal(?:-\d+xl)?)$")
METAL_VCPUS = 64  # bare-metal sizes: at least this many vCPUs in every family that has them


@dataclass(frozen=True)
class ImageInfo:
    """What a DescribeImages response (or the config) says about one image."""

    owner_id: str | None = None
    owner_alias: str | None = None
    public: bool | None = None


@dataclass(frozen=True)
class Assessment:
    """The level an event deserves (None: no alert) and the reasons, for the summary."""

    level: str | None
    reasons: tuple[str, ...]


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if value is not None else []


def learn_images(responses: Iterable[str | None]) -> dict[str, ImageInfo]:
    """Image id -> owner and visibility, from DescribeImages responseElements JSON texts."""
    images: dict[str, ImageInfo] = {}
    for text in responses:
        if not text:
            continue
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue  # truncated or not JSON: nothing to learn
        images_set = doc.get("imagesSet") if isinstance(doc, dict) else None
        items = images_set.get("items") if isinstance(images_set, dict) else images_set
        for item in _as_list(items):
            if not isinstance(item, dict) or not isinstance(item.get("imageId"), str):
                continue
            public = item.get("isPublic")
            images[item["imageId"].lower()] = ImageInfo(
                owner_id=str(item["imageOwnerId"]) if item.get("imageOwnerId") else None,
                owner_alias=str(item["imageOwnerAlias"]) if item.get("imageOwnerAlias") else None,
                public=str(public).lower() == "true" if public is not None else None,
            )
    return images


def instance_vcpus(instance_type: str) -> int | None:
    """vCPUs of an EC2 instance type from its size (4 per xlarge); None when unknown."""
    _family, _dot, size = instance_type.lower().partition(".")
    match = _SIZE.match(size)
    if match is None:
        return None
    if size.startswith("metal"):
        return METAL_VCPUS
    if match.group(1):
        return 4 * int(match.group(1))
    return {"xlarge": 4, "large": 2, "medium": 1, "small": 1, "micro": 1, "nano": 1}[size]


def mining_capacity(fields: Mapping[str, Any], limits: LaunchThresholds) -> list[str]:
    """Why this launch looks like mining capacity (empty: it does not)."""
    reasons: list[str] = []
    instance_type = str(fields.get("aws.ec2.instance_type") or "")
    family = instance_type.lower().partition(".")[0]
    for prefix in limits.accelerator_families:
        rest = family[len(prefix) :]
        if family.startswith(prefix) and rest[:1].isdigit():
            reasons.append(f"accelerator instance family {family}")
            break
    vcpus = instance_vcpus(instance_type) if instance_type else None
    if vcpus is not None and vcpus >= limits.min_vcpus:
        reasons.append(f"{vcpus} vCPUs per instance")
    count = fields.get("aws.ec2.instance_count")
    if isinstance(count, int) and count >= limits.min_instance_count:
        reasons.append(f"{count} instances requested")
    return reasons


def _lower(level: str) -> str:
    return LEVELS[max(LEVELS.index(level) - 1, 0)]


def _image_verdict(
    image_id: str, account: str | None, images: Mapping[str, ImageInfo], trust: CloudTrust
) -> tuple[str, str]:
    """('trusted' | 'own' | 'public' | 'untrusted' | 'unknown', description) of one image."""
    info = images.get(image_id) or ImageInfo(owner_id=trust.image_owners.get(image_id))
    owner = info.owner_id
    alias = (info.owner_alias or "").lower()
    described = f"{image_id} (owner {owner or 'unknown'}{', ' + alias if alias else ''})"
    if image_id in trust.trusted_images or (owner and owner.lower() in trust.trusted_owners):
        return "trusted", described
    if alias and alias in trust.trusted_owners:
        return "trusted", described
    if owner is not None and account is not None and owner == account:
        return "own", described
    if owner is None:
        return "unknown", described
    return ("public" if info.public else "untrusted"), described


def assess_launch(
    fields: Mapping[str, Any], images: Mapping[str, ImageInfo], trust: CloudTrust
) -> Assessment:
    """Level of one RunInstances or ModifyImageAttribute event (see the module docstring)."""
    action = fields.get("event.action")
    failed = bool(fields.get("aws.cloudtrail.error_code"))
    image_ids = [str(i).lower() for i in fields.get("aws.ec2.image_ids") or []]
    if action == "ModifyImageAttribute":
        groups = [str(g).lower() for g in fields.get("aws.ec2.launch_permission_groups") or []]
        level = "medium" if "all" in groups else "low"
        reasons = ["image made public" if "all" in groups else "image shared with accounts"]
    else:
        account = fields.get("cloud.account.id")
        verdicts = [_image_verdict(i, account, images, trust) for i in image_ids] or [
            ("unknown", "no image id in the call (launch template)")
        ]
        kinds = {kind for kind, _ in verdicts}
        reasons = [text for _, text in verdicts]
        size = fields.get("aws.ec2.instance_type") or "unknown type"
        reasons.append(f"{size} x {fields.get('aws.ec2.instance_count') or '?'}")
        capacity = mining_capacity(fields, trust.thresholds)
        if kinds <= {"trusted", "own"}:
            if not capacity:
                return Assessment(None, tuple(reasons))
            level, reasons = "low", [*reasons, "trusted image on mining-sized capacity"]
        elif "public" in kinds:
            level, reasons = "high", [*reasons, "public (community) image"]
        elif "untrusted" in kinds:
            level, reasons = "medium", [*reasons, "owner not trusted"]
        elif trust.has_trust_list:
            level, reasons = "medium", [*reasons, "image not in the trust list"]
        else:
            level, reasons = "low", [*reasons, "no trust list configured"]
        if capacity and not kinds <= {"trusted", "own"}:
            level, reasons = "high", [*reasons, *capacity]
    if failed:
        level = _lower(level)
        reasons.append(f"call failed ({fields.get('aws.cloudtrail.error_code')}): one level lower")
    return Assessment(level, tuple(reasons))
