"""Mapping of one raw CloudTrail record to schema fields (see docs/formats.d/cloudtrail.md)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

import orjson

from imagehunt.sources.cloudtrail_ec2 import ec2_details

MAX_JSON_TEXT = 32 * 1024  # requestParameters / responseElements text kept per record


@lru_cache(maxsize=8192)
def is_ip(text: str) -> bool:
    """True when ``text`` is an IPv4 or IPv6 address (not a service name like ec2.amazonaws.com)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def json_text(value: Any) -> str | None:
    """Compact JSON of a request or response, cut at ``MAX_JSON_TEXT`` bytes with a marker."""
    if value is None:
        return None
    try:
        data = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return None
    if len(data) <= MAX_JSON_TEXT:
        return data.decode()
    kept = data[:MAX_JSON_TEXT].decode("utf-8", "ignore")
    return f"{kept}...[truncated: {len(data)} bytes]"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def user_name(identity: dict[str, Any]) -> str | None:
    """``userName``; for an assumed role the role's name (sessionIssuer), else the session."""
    name = _text(identity.get("userName"))
    if name is not None or identity.get("type") != "AssumedRole":
        return name
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    if isinstance(issuer, dict) and _text(issuer.get("userName")):
        return str(issuer["userName"])
    arn = _text(identity.get("arn"))
    return arn.rsplit("/", 1)[-1] if arn and "/" in arn else None


def record_values(record: dict[str, Any]) -> dict[str, Any]:
    """Schema values of one CloudTrail record (before conversion to field kinds)."""
    identity = record.get("userIdentity")
    if not isinstance(identity, dict):
        identity = {}
    source = record.get("sourceIPAddress")
    error_code = record.get("errorCode")
    error_message = record.get("errorMessage")
    values: dict[str, Any] = {
        "@timestamp": record.get("eventTime") or record.get("@timestamp"),
        "event.kind": "event",
        "event.module": "aws",
        "event.dataset": "aws.cloudtrail",
        "event.action": record["eventName"],
        "event.provider": record["eventSource"],
        "event.id": record.get("eventID"),
        "event.outcome": "failure" if error_code or error_message else "success",
        "aws.cloudtrail.error_code": error_code,
        "aws.cloudtrail.error_message": error_message,
        "cloud.provider": "aws",
        "cloud.region": record.get("awsRegion"),
        "cloud.account.id": record.get("recipientAccountId") or identity.get("accountId"),
        "aws.cloudtrail.user_identity.type": identity.get("type"),
        "aws.cloudtrail.user_identity.arn": identity.get("arn"),
        "aws.cloudtrail.user_identity.access_key_id": identity.get("accessKeyId"),
        "user.id": identity.get("principalId"),
        "user.name": user_name(identity),
        "source.address": source,
        "source.ip": source if isinstance(source, str) and is_ip(source) else None,
        "user_agent.original": record.get("userAgent"),
        "aws.cloudtrail.request_parameters": json_text(record.get("requestParameters")),
        "aws.cloudtrail.response_elements": json_text(record.get("responseElements")),
    }
    values.update(
        ec2_details(
            record["eventSource"],
            record["eventName"],
            record.get("requestParameters"),
            record.get("responseElements"),
        )
    )
    return values
