"""EC2 details of CloudTrail records: images, instance type and count, AMI launch permissions.

CloudTrail writes EC2 requests in the shape of the EC2 query API: lists are objects
``{"items": [...]}`` (``instancesSet``, ``imagesSet``, ``launchPermission.add``). Real logs
and hand-written ones vary (a list directly, one object instead of a list, missing parts),
so every step here accepts any of them and ignores what it does not understand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from imagehunt.sources.normalize import ascii_int

EC2_SOURCE = "ec2.amazonaws.com"


def set_items(container: Any) -> list[dict[str, Any]]:
    """Objects of an EC2 list: ``{"items": [...]}``, ``{"items": {...}}``, a list, or one object."""
    if isinstance(container, dict):
        inner = container.get("items", container.get("item"))
        if inner is None:
            return []
        container = inner
    if isinstance(container, dict):
        return [container]
    if isinstance(container, list):
        return [item for item in container if isinstance(item, dict)]
    return []


def _texts(values: Iterable[Any]) -> list[str]:
    """Non-empty strings of ``values``, first occurrence kept, in order."""
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value:
            seen.setdefault(value, None)
        elif isinstance(value, int) and not isinstance(value, bool):
            seen.setdefault(str(value), None)
    return list(seen)


def _count(value: Any) -> int | None:
    """Instance count from a number or a decimal string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return ascii_int(value.strip())
    return None


def run_instances(params: dict[str, Any], response: Any = None) -> dict[str, Any]:
    """RunInstances: image ids, instance type, requested count (maxCount, else minCount).

    A launch from a launch template (autoscaling groups, most fleets) names no image in the
    request; the response's instances do, so they fill in the image ids and the instance
    type when the request has none.
    """
    items = set_items(params.get("instancesSet"))
    launched = set_items(response.get("instancesSet")) if isinstance(response, dict) else []
    values: dict[str, Any] = {}
    images = _texts([item.get("imageId") for item in items] + [params.get("imageId")])
    if not images:
        images = _texts([item.get("imageId") for item in launched])
    if images:
        values["aws.ec2.image_ids"] = images
    instance_type = params.get("instanceType")
    if not (isinstance(instance_type, str) and instance_type):
        types = _texts([item.get("instanceType") for item in launched])
        instance_type = types[0] if len(types) == 1 else None
    if isinstance(instance_type, str) and instance_type:
        values["aws.ec2.instance_type"] = instance_type
    counts = [_count(item.get("maxCount", item.get("minCount"))) for item in items]
    known = [c for c in counts if c is not None]
    if not known:
        top = _count(params.get("maxCount", params.get("minCount")))
        known = [top] if top is not None else []
    if known:
        values["aws.ec2.instance_count"] = sum(known)
    return values


def modify_image_attribute(params: dict[str, Any]) -> dict[str, Any]:
    """ModifyImageAttribute: the image, and the groups / accounts given launch permission."""
    values: dict[str, Any] = {}
    images = _texts([params.get("imageId")])
    if images:
        values["aws.ec2.image_ids"] = images
    permission = params.get("launchPermission")
    added = set_items(permission.get("add")) if isinstance(permission, dict) else []
    groups = _texts(item.get("group") for item in added)
    accounts = _texts(item.get("userId") for item in added)
    if groups:
        values["aws.ec2.launch_permission_groups"] = groups
    if accounts:
        values["aws.ec2.launch_permission_accounts"] = accounts
    return values


def describe_images(params: dict[str, Any]) -> dict[str, Any]:
    """DescribeImages: the image ids asked for (``imagesSet`` items, or an ``imageId`` list)."""
    container = params.get("imagesSet", params.get("imageIds"))
    raw: list[Any] = [item.get("imageId") for item in set_items(container)]
    if isinstance(container, list):
        raw += [value for value in container if isinstance(value, str)]
    direct = params.get("imageId")
    raw += direct if isinstance(direct, list) else [direct]
    images = _texts(raw)
    return {"aws.ec2.image_ids": images} if images else {}


def other_image_call(params: dict[str, Any]) -> dict[str, Any]:
    """Any other EC2 call naming one image (CopyImage source, DeregisterImage, ...)."""
    images = _texts([params.get("imageId"), params.get("sourceImageId")])
    return {"aws.ec2.image_ids": images} if images else {}


_BY_ACTION = {
    "RunInstances": run_instances,
    "ModifyImageAttribute": modify_image_attribute,
    "DescribeImages": describe_images,
}


def ec2_details(source: Any, action: Any, params: Any, response: Any = None) -> dict[str, Any]:
    """Schema values of the EC2 details of one record ({} for other services or no request)."""
    if source != EC2_SOURCE or not isinstance(params, dict):
        return {}
    if action == "RunInstances":
        return run_instances(params, response)
    extract = _BY_ACTION.get(action, other_image_call) if isinstance(action, str) else None
    return extract(params) if extract is not None else {}
