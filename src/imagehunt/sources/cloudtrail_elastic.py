"""CloudTrail events as Elastic's AWS integration indexes them, when no raw record is kept.

Without ``preserve_original_event`` the integration drops the raw record: its documents are
ECS (``event.action``, ``cloud.*``, ``source.*``, ``user.*``) plus ``aws.cloudtrail.*`` in
snake case, and the request and response as objects under ``aws.cloudtrail.flattened``
(its ``aws.cloudtrail.request_parameters`` is a ``{key=value}`` text, not JSON). The ECS
fields are read as the ECS reader reads them; the request object gives the EC2 details and
the JSON texts, so rules see the same fields as from the raw record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imagehunt.sources.cloudtrail_ec2 import ec2_details
from imagehunt.sources.cloudtrail_fields import json_text
from imagehunt.sources.normalize import normalize_ecs

_MAX_DEPTH = 8


def lookup(doc: Mapping[str, Any], dotted: str, depth: int = 0) -> Any:
    """Value at a dotted path whatever the mix of nested objects and dotted keys; else None."""
    if dotted in doc:
        return doc[dotted]
    if depth >= _MAX_DEPTH:
        return None
    parts = dotted.split(".")
    for cut in range(1, len(parts)):
        inner = doc.get(".".join(parts[:cut]))
        if isinstance(inner, Mapping):
            found = lookup(inner, ".".join(parts[cut:]), depth + 1)
            if found is not None:
                return found
    return None


def is_elastic_cloudtrail(doc: Any) -> bool:
    """A document of Elastic's CloudTrail data stream: event version, action and provider."""
    return (
        isinstance(doc, dict)
        and lookup(doc, "aws.cloudtrail.event_version") is not None
        and isinstance(lookup(doc, "event.action"), str)
        and isinstance(lookup(doc, "event.provider"), str)
    )


def elastic_values(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema values of one Elastic CloudTrail document."""
    values: dict[str, Any] = normalize_ecs(doc)
    request = lookup(doc, "aws.cloudtrail.flattened.request_parameters")
    response = lookup(doc, "aws.cloudtrail.flattened.response_elements")
    if request is not None:
        values["aws.cloudtrail.request_parameters"] = json_text(request)
    if response is not None:
        values["aws.cloudtrail.response_elements"] = json_text(response)
    for name, constant in (
        ("event.kind", "event"),
        ("event.module", "aws"),
        ("event.dataset", "aws.cloudtrail"),
        ("cloud.provider", "aws"),
    ):
        values.setdefault(name, constant)
    values.update(
        ec2_details(values.get("event.provider"), values.get("event.action"), request, response)
    )
    return values
