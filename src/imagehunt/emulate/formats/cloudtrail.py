"""AWS CloudTrail log file as a trail delivers it to S3: ``{"Records":[...]}`` on one line.

Every cloud API call of the scenario becomes one management-event record, with the fields
in the order CloudTrail writes them: ``eventVersion``, ``userIdentity`` (``type``,
``principalId``, ``arn``, ``accountId``, ``accessKeyId``, then ``userName`` for an IAM user or
``sessionContext`` with ``sessionIssuer`` and ``attributes`` for an assumed role, as in 2024
records of role sessions), ``eventTime`` (seconds, ``Z``), ``eventSource``,
``eventName``, ``awsRegion``, ``sourceIPAddress``, ``userAgent``, ``errorCode`` and
``errorMessage`` for a failed call, ``requestParameters`` and ``responseElements`` (as the
step gives them; ``null`` for a failed call), ``requestID``, ``eventID``, ``readOnly``,
``eventType`` ``AwsApiCall``, ``managementEvent``, ``recipientAccountId``, ``eventCategory``
``Management`` and ``tlsDetails``.

Principal ids (``AIDA...``, ``AROA...``) are derived from the principal's ARN; event and
request ids the step leaves empty come from the seeded generator (a request id is taken from
``responseElements.requestId`` when the response has one, as EC2 repeats it there). Hosts'
processes, connections and containers are not AWS API calls and are left out.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import orjson

from imagehunt.emulate.formats import ScenarioLike, digest, seeded_random
from imagehunt.emulate.ids import uuid_from_bits
from imagehunt.emulate.steps import CloudCall

FORMAT = "cloudtrail"
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# eventVersion of the records each service wrote in 2024 captures (EC2 1.09, STS/IAM 1.08)
_EVENT_VERSIONS = {"ec2.amazonaws.com": "1.09"}
_DEFAULT_EVENT_VERSION = "1.08"
_GLOBAL_ENDPOINTS = {"iam.amazonaws.com": "iam.amazonaws.com"}


def event_time(when: datetime) -> str:
    """``eventTime``: UTC to the second, ``2026-11-02T09:00:00Z``."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def principal_id(prefix: str, arn: str) -> str:
    """A unique id as IAM shows it (``AIDA`` users, ``AROA`` roles), derived from the ARN."""
    data = digest("cloudtrail-principal", arn)
    return prefix + "".join(_ID_ALPHABET[byte % 32] for byte in data[:17])


def _resource_path(arn: str) -> list[str]:
    """``arn:aws:sts::123:assumed-role/Role/session`` -> ["assumed-role", "Role", "session"]."""
    return arn.split(":", 5)[-1].split("/")


def endpoint_host(source: str, region: str) -> str:
    """The host name the client called (``ec2.us-east-1.amazonaws.com``)."""
    if source in _GLOBAL_ENDPOINTS:
        return _GLOBAL_ENDPOINTS[source]
    service = source.removesuffix(".amazonaws.com")
    return f"{service}.{region}.amazonaws.com"


class _Writer:
    """State of one output: the generator and the assumed-role sessions seen."""

    def __init__(self, scenario: ScenarioLike) -> None:
        self.random: random.Random = seeded_random(scenario, FORMAT)
        self.session_start: dict[str, datetime] = {}
        for step in scenario.steps:
            if isinstance(step, CloudCall) and step.principal_type == "AssumedRole":
                first = self.session_start.get(step.principal_arn)
                if first is None or step.time < first:
                    self.session_start[step.principal_arn] = step.time
        for arn in sorted(self.session_start):
            offset = timedelta(seconds=self.random.randint(30, 3000))
            self.session_start[arn] -= offset

    def identity(self, step: CloudCall) -> dict[str, Any]:
        """``userIdentity`` of the caller."""
        arn = step.principal_arn
        kind = step.principal_type
        identity: dict[str, Any] = {"type": kind}
        if kind == "AssumedRole":
            path = _resource_path(arn)
            role, session = path[1], path[-1]
            role_id = principal_id("AROA", f"role/{step.account_id}/{role}")
            identity |= {
                "principalId": f"{role_id}:{session}",
                "arn": arn,
                "accountId": step.account_id,
                "accessKeyId": step.access_key_id,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": f"arn:aws:iam::{step.account_id}:role/{role}",
                        "accountId": step.account_id,
                        "userName": role,
                    },
                    "attributes": {
                        "creationDate": event_time(self.session_start[arn]),
                        "mfaAuthenticated": "false",
                    },
                },
            }
        elif kind == "Root":
            identity |= {
                "principalId": step.account_id,
                "arn": arn,
                "accountId": step.account_id,
                "accessKeyId": step.access_key_id,
            }
        else:
            identity |= {
                "principalId": principal_id("AIDA", arn),
                "arn": arn,
                "accountId": step.account_id,
                "accessKeyId": step.access_key_id,
                "userName": _resource_path(arn)[-1],
            }
        return identity

    def record(self, step: CloudCall) -> dict[str, Any]:
        """One CloudTrail record of an API call."""
        failed = bool(step.error_code)
        record: dict[str, Any] = {
            "eventVersion": _EVENT_VERSIONS.get(step.event_source, _DEFAULT_EVENT_VERSION),
            "userIdentity": self.identity(step),
            "eventTime": event_time(step.time),
            "eventSource": step.event_source,
            "eventName": step.event_name,
            "awsRegion": step.region,
            "sourceIPAddress": step.source_ip,
            "userAgent": step.user_agent,
        }
        if failed:
            record["errorCode"] = step.error_code
            record["errorMessage"] = step.error_message
        response = None if failed else step.response
        given_request_id = response.get("requestId") if isinstance(response, dict) else None
        record |= {
            "requestParameters": step.request if step.request else None,
            "responseElements": response,
            "requestID": step.request_id or given_request_id or uuid_from_bits(self.random),
            "eventID": step.event_id or uuid_from_bits(self.random),
            "readOnly": step.read_only,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": step.account_id,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": endpoint_host(step.event_source, step.region),
            },
        }
        return record


def write(scenario: ScenarioLike) -> str:
    """The CloudTrail log file of the scenario's API calls, records in time order ("" when
    there is none: a trail delivers no empty file)."""
    writer = _Writer(scenario)
    calls = sorted(
        (step for step in scenario.steps if isinstance(step, CloudCall)), key=lambda s: s.time
    )
    if not calls:
        return ""
    document = {"Records": [writer.record(step) for step in calls]}
    return orjson.dumps(document).decode() + "\n"
