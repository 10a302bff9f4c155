"""THE normalized event schema: ECS field names, their types, and provenance columns.

Every source produces rows in this schema and every backend compiles rules against it.
No other module invents a field name: add it here first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pyarrow as pa


class Kind(Enum):
    """Storage kind of a normalized field."""

    STRING = "string"
    INTEGER = "integer"
    STRINGS = "strings"  # array of strings; a rule value matches if any element matches
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Field:
    """One normalized field: its ECS name, kind and a short description."""

    name: str
    kind: Kind
    description: str

    @property
    def is_array(self) -> bool:
        return self.kind is Kind.STRINGS

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.kind]


_ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.STRING: pa.string(),
    Kind.INTEGER: pa.int64(),
    Kind.STRINGS: pa.list_(pa.string()),
    Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
}

S, N, L, T = Kind.STRING, Kind.INTEGER, Kind.STRINGS, Kind.TIMESTAMP

FIELDS: tuple[Field, ...] = (
    Field("@timestamp", T, "time the event happened"),
    Field("event.id", S, "producer's id of the event"),
    Field("event.kind", S, "ECS event kind (event, alert, ...)"),
    Field("event.category", L, "ECS categories: process, network, ..."),
    Field("event.type", L, "ECS types: start, end, connection, protocol, ..."),
    Field("event.action", S, "producer's action name (exec, connection_attempted, RunInstances)"),
    Field("event.code", S, "producer's event code (Sysmon EventID, ...)"),
    Field("event.module", S, "producer module (endpoint, auditd, sysmon, aws)"),
    Field("event.dataset", S, "producer dataset"),
    Field("event.provider", S, "producer's provider (ec2.amazonaws.com, ...)"),
    Field("event.outcome", S, "success, failure or unknown"),
    Field("host.name", S, "host the event was recorded on"),
    Field("host.hostname", S, "hostname as the host reports it"),
    Field("host.id", S, "host identifier"),
    Field("host.os.type", S, "linux, windows, macos"),
    Field("host.ip", L, "addresses of the host (Zeek: the connection's originator)"),
    Field("user.name", S, "user the process ran as, or the cloud principal"),
    Field("user.id", S, "user id"),
    Field("process.entity_id", S, "unique id of the process"),
    Field("process.pid", N, "process id"),
    Field("process.name", S, "process name (file name of the executable)"),
    Field("process.executable", S, "absolute path of the executable"),
    Field("process.command_line", S, "full command line"),
    Field("process.args", L, "command line split into arguments"),
    Field("process.working_directory", S, "working directory"),
    Field("process.env_vars", L, "environment variables (NAME=value)"),
    Field("process.parent.entity_id", S, "unique id of the parent process"),
    Field("process.parent.pid", N, "parent process id"),
    Field("process.parent.name", S, "parent process name"),
    Field("process.parent.executable", S, "parent executable path"),
    Field("process.parent.command_line", S, "parent command line"),
    Field("source.ip", S, "source address"),
    Field("source.address", S, "source as the producer wrote it (an IP or a service name)"),
    Field("source.port", N, "source port"),
    Field("destination.ip", S, "destination address"),
    Field("destination.port", N, "destination port"),
    Field("destination.domain", S, "destination host name when the producer knows it"),
    Field("network.transport", S, "tcp, udp"),
    Field("network.protocol", S, "application protocol (dns, http, ...)"),
    Field("network.direction", S, "ingress, egress, ..."),
    Field("dns.question.name", S, "queried DNS name"),
    Field("dns.question.type", S, "queried record type"),
    Field("dns.resolved_ip", L, "addresses in the DNS answer"),
    Field("url.full", S, "full URL"),
    Field("url.domain", S, "URL host"),
    Field("user_agent.original", S, "user agent of the caller (CloudTrail userAgent)"),
    Field("rule.name", S, "name of the producer's rule (Falco rule, QRadar QID name)"),
    Field("observer.name", S, "the sensor or log source that recorded the event"),
    Field("observer.product", S, "product of the sensor (falco, zeek, qradar, sysmon)"),
    Field("container.id", S, "container the event happened in"),
    Field("container.name", S, "container name"),
    Field("container.image.name", S, "image of the container (repository, without tag)"),
    Field("container.image.tag", L, "image tags"),
    Field("container.runtime", S, "docker, containerd, cri-o, ..."),
    Field(
        "labels.container_evidence",
        S,
        "how a process was tied to a container when the log names none (auditd: runtime "
        "parent, rootfs path of the executable or working directory)",
    ),
    Field("orchestrator.type", S, "kubernetes"),
    Field("orchestrator.namespace", S, "Kubernetes namespace"),
    Field("orchestrator.resource.type", S, "pods, pods/exec, deployments, ..."),
    Field("orchestrator.resource.name", S, "name of the resource acted on"),
    Field("cloud.provider", S, "aws, gcp, azure"),
    Field("cloud.region", S, "cloud region"),
    Field("cloud.account.id", S, "cloud account id"),
    Field("aws.cloudtrail.error_code", S, "CloudTrail errorCode"),
    Field("aws.cloudtrail.error_message", S, "CloudTrail errorMessage"),
    Field("aws.cloudtrail.request_parameters", S, "CloudTrail requestParameters as JSON text"),
    Field("aws.cloudtrail.response_elements", S, "CloudTrail responseElements as JSON text"),
    Field("aws.cloudtrail.user_identity.arn", S, "CloudTrail principal ARN"),
    Field("aws.cloudtrail.user_identity.type", S, "CloudTrail principal type"),
    Field("aws.cloudtrail.user_identity.access_key_id", S, "access key the call was signed with"),
    Field("aws.ec2.image_ids", L, "AMI ids a call names (RunInstances, ModifyImageAttribute)"),
    Field("aws.ec2.instance_type", S, "requested instance type (p3.16xlarge, ...)"),
    Field("aws.ec2.instance_count", N, "requested number of instances (maxCount)"),
    Field("aws.ec2.launch_permission_groups", L, "launch permission groups added (all = public)"),
    Field("aws.ec2.launch_permission_accounts", L, "accounts given launch permission"),
)

FILE_COLUMN = "_file"
LINE_COLUMN = "_line"
FORMAT_COLUMN = "_format"

PROVENANCE: tuple[tuple[str, pa.DataType], ...] = (
    (FILE_COLUMN, pa.string()),
    (LINE_COLUMN, pa.int64()),
    (FORMAT_COLUMN, pa.string()),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)


def field(name: str) -> Field:
    """Return the normalized field called ``name`` (KeyError if it is not in the schema)."""
    return BY_NAME[name]


def arrow_schema() -> pa.Schema:
    """Arrow schema of a normalized batch: every field, then the provenance columns."""
    columns = [pa.field(f.name, f.arrow_type) for f in FIELDS]
    columns += [pa.field(name, typ) for name, typ in PROVENANCE]
    return pa.schema(columns)
