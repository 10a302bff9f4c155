"""Elastic Defend (Elastic Endpoint) events as NDJSON, one document per line, nested objects.

What Elastic Defend indexes in ``logs-endpoint.events.*``:

* process start: ``event.category ["process"]``, ``event.type ["start"]``, ``event.action
  "exec"`` (Linux) or ``"start"`` (Windows), dataset ``endpoint.events.process``, the process
  with its ``args``, ``args_count``, ``command_line``, ``entity_id``, ``working_directory`` and
  its ``parent``; ``container.*`` when the process runs in a container;
* connection: ``event.category ["network"]``, ``event.type ["start"]``, ``event.action
  "connection_attempted"``, dataset ``endpoint.events.network``, ``source``/``destination``,
  ``network.direction "egress"`` and ``network.transport``;
* DNS lookup on Windows: two events, ``"lookup_requested"`` then ``"lookup_result"``
  (``event.type ["protocol"]``, ``dns.question.*``, ``dns.resolved_ip`` in the result).
  Elastic Defend records DNS on Windows only, so a Linux host's lookup is Packetbeat's
  ``network_traffic.dns`` transaction document (no process fields), as a SOC has it.

Image pulls, container starts and cloud calls are not endpoint events and are left out.
Record ids (``event.id``), agent and host ids come from the seeded generator or from hashes.
"""

from __future__ import annotations

import base64
import random
from datetime import timedelta
from typing import Any

import orjson

from imagehunt.emulate.formats import (
    ProcessIds,
    ScenarioLike,
    derived_uuid,
    iso_millis,
    lines,
    seeded_random,
    split_image,
)
from imagehunt.emulate.steps import Connection, DnsLookup, Host, Process, ProcessStart, Step

FORMAT = "ecs"
AGENT_VERSION = "8.15.2"
ECS_VERSION = "8.11.0"
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_LINUX_OS = {
    "Ext": {"variant": "Ubuntu"},
    "family": "ubuntu",
    "full": "Ubuntu 22.04.4 LTS",
    "kernel": "5.15.0-113-generic #123-Ubuntu SMP Mon Jun 10 08:16:17 UTC 2024",
    "name": "Linux",
    "platform": "ubuntu",
    "type": "linux",
    "version": "22.04.4 LTS",
}
_WINDOWS_OS = {
    "Ext": {"variant": "Windows 11 Enterprise"},
    "family": "windows",
    "full": "Windows 11 Enterprise 23H2 (10.0.22631.3880)",
    "kernel": "23H2 (10.0.22631.3880)",
    "name": "Windows",
    "platform": "windows",
    "type": "windows",
    "version": "23H2",
}
_DNS_TYPES = {"A": "A", "AAAA": "AAAA", "CNAME": "CNAME", "TXT": "TXT", "MX": "MX"}


class _Writer:
    """State of one output: the generator, process ids and the per-host event sequence."""

    def __init__(self, scenario: ScenarioLike) -> None:
        self.seed = scenario.seed
        self.random: random.Random = seeded_random(scenario, FORMAT)
        self.ids = ProcessIds(scenario, FORMAT)
        self.sequence: dict[str, int] = {}

    # ---- shared parts ----
    def _event_id(self) -> str:
        return "".join(self.random.choice(_ID_ALPHABET) for _ in range(20)) + "++++"

    def _agent_id(self, host: Host) -> str:
        return derived_uuid(self.seed, FORMAT, "agent", host.name)

    def entity_id(self, host: Host, pid: int, executable: str) -> str:
        """Defend-style entity id: base64 of agent id, pid and a per-process token."""
        token = self.ids.of(host, pid, executable)
        raw = f"{self._agent_id(host)}-{pid}-{token[:8]}"
        return base64.b64encode(raw.encode("ascii")).decode("ascii")

    def _base(self, step: Step, dataset: str, message: str) -> dict[str, Any]:
        host = step.host
        agent_id = self._agent_id(host)
        sequence = self.sequence.get(host.name, 4000 + self.random.randrange(9000))
        self.sequence[host.name] = sequence + 1 + self.random.randrange(40)
        ingested = step.time + timedelta(seconds=1 + self.random.randrange(3))
        windows = host.os == "windows"
        return {
            "@timestamp": iso_millis(step.time),
            "agent": {"id": agent_id, "type": "endpoint", "version": AGENT_VERSION},
            "data_stream": {"dataset": dataset, "namespace": "default", "type": "logs"},
            "ecs": {"version": ECS_VERSION},
            "elastic": {"agent": {"id": agent_id}},
            "event": {
                "agent_id_status": "verified",
                "created": iso_millis(step.time),
                "dataset": dataset,
                "id": self._event_id(),
                "ingested": ingested.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "kind": "event",
                "module": "endpoint",
                "sequence": sequence,
            },
            "host": {
                "architecture": "x86_64",
                "hostname": host.name,
                "id": derived_uuid(self.seed, FORMAT, "host", host.name).replace("-", ""),
                "ip": [host.ip],
                "name": host.name,
                "os": _WINDOWS_OS if windows else _LINUX_OS,
            },
            "message": message,
        }

    def _user(self, host: Host, process: Process) -> dict[str, Any]:
        if host.os == "windows":
            user: dict[str, Any] = {"name": process.user, "id": _windows_sid(process)}
            if host.domain:
                user["domain"] = host.domain
            return user
        return {"name": process.user, "id": str(process.uid)}

    # ---- events ----
    def process_start(self, step: ProcessStart) -> dict[str, Any]:
        """The Defend process start document of one step."""
        host, process = step.host, step.process
        doc = self._base(step, "endpoint.events.process", "Endpoint process event")
        doc["event"].update(
            {
                "action": "start" if host.os == "windows" else "exec",
                "category": ["process"],
                "type": ["start"],
            }
        )
        parent_id = self.entity_id(host, process.ppid, process.parent_executable)
        parent: dict[str, Any] = {
            "entity_id": parent_id,
            "executable": process.parent_executable,
            "name": process.parent_name,
            "pid": process.ppid,
        }
        if process.parent_args:
            parent["args"] = list(process.parent_args)
            parent["args_count"] = len(process.parent_args)
            parent["command_line"] = process.parent_command_line
        doc["process"] = {
            "Ext": {"ancestry": [parent_id]},
            "args": list(process.args),
            "args_count": len(process.args),
            "command_line": process.command_line,
            "entity_id": self.entity_id(host, process.pid, process.executable),
            "executable": process.executable,
            "interactive": False,
            "name": process.name,
            "parent": parent,
            "pid": process.pid,
            "working_directory": process.cwd,
        }
        doc["user"] = self._user(host, process)
        if process.container is not None:
            container = process.container
            image, tag = split_image(container.image)
            doc["container"] = {
                "id": container.id,
                "image": {"name": image, "tag": [tag]},
                "name": container.name,
                "runtime": container.runtime,
            }
        return doc

    def _process_ref(self, host: Host, process: Process) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id(host, process.pid, process.executable),
            "executable": process.executable,
            "name": process.name,
            "pid": process.pid,
        }

    def connection(self, step: Connection) -> dict[str, Any]:
        """The Defend ``connection_attempted`` document of one outbound connection."""
        doc = self._base(step, "endpoint.events.network", "Endpoint network event")
        doc["event"].update(
            {"action": "connection_attempted", "category": ["network"], "type": ["start"]}
        )
        family = "ipv6" if ":" in step.destination_ip else "ipv4"
        doc["source"] = {
            "address": step.source_ip,
            "ip": step.source_ip,
            "port": step.source_port,
        }
        doc["destination"] = {
            "address": step.destination_ip,
            "ip": step.destination_ip,
            "port": step.destination_port,
        }
        doc["network"] = {"direction": "egress", "transport": step.transport, "type": family}
        doc["process"] = self._process_ref(step.host, step.process)
        doc["user"] = self._user(step.host, step.process)
        return doc

    def dns(self, step: DnsLookup) -> list[dict[str, Any]]:
        """The DNS documents of one lookup: Elastic Defend's on Windows, Packetbeat's on Linux.

        Elastic Defend records DNS lookups on Windows only; on Linux the ECS DNS events a
        SOC has come from Packetbeat (or Elastic Agent's network_traffic integration): one
        transaction document per query and answer, without the process.
        """
        if step.host.os != "windows":
            return [self.packetbeat_dns(step)]
        docs = []
        qtype = _DNS_TYPES.get(step.query_type, step.query_type)
        for action in ("lookup_requested", "lookup_result"):
            doc = self._base(step, "endpoint.events.network", "Endpoint DNS event")
            doc["event"].update({"action": action, "category": ["network"], "type": ["protocol"]})
            dns: dict[str, Any] = {
                "Ext": {"options": "0x0", "status": "0"},
                "question": {"name": step.name, "type": qtype},
            }
            if action == "lookup_result":
                dns["resolved_ip"] = list(step.answers)
            doc["dns"] = dns
            doc["network"] = {"protocol": "dns"}
            doc["process"] = self._process_ref(step.host, step.process)
            doc["user"] = self._user(step.host, step.process)
            docs.append(doc)
        return docs

    def packetbeat_dns(self, step: DnsLookup) -> dict[str, Any]:
        """Packetbeat's ``network_traffic.dns`` transaction document of one lookup."""
        doc = self._base(step, "network_traffic.dns", "")
        del doc["message"]
        doc["agent"] = {
            "id": doc["agent"]["id"],
            "type": "packetbeat",
            "version": AGENT_VERSION,
        }
        doc["event"] = {
            "category": ["network"],
            "type": ["connection", "protocol"],
            "kind": "event",
            "dataset": "network_traffic.dns",
            "duration": 1_000_000 + self.random.randrange(40_000_000),
            "start": iso_millis(step.time),
            "end": iso_millis(step.time),
        }
        qtype = _DNS_TYPES.get(step.query_type, step.query_type)
        labels = step.name.rstrip(".").split(".")
        question: dict[str, Any] = {
            "name": step.name,
            "type": qtype,
            "class": "IN",
            "top_level_domain": labels[-1],
            "registered_domain": ".".join(labels[-2:]),
        }
        if len(labels) > 2:
            question["subdomain"] = ".".join(labels[:-2])
        answers = [
            {"name": step.name, "type": qtype, "class": "IN", "ttl": "300", "data": ip}
            for ip in step.answers
        ]
        doc["type"] = "dns"
        doc["method"] = "QUERY"
        doc["status"] = "OK" if step.answers else "Error"
        doc["dns"] = {
            "type": "answer",
            "id": step.transaction_id,
            "op_code": "QUERY",
            "response_code": "NOERROR" if step.answers else "NXDOMAIN",
            "question": question,
            "answers": answers,
            "answers_count": len(answers),
            "resolved_ip": list(step.answers),
            "flags": {"recursion_desired": True, "recursion_available": True},
        }
        doc["network"] = {
            "protocol": "dns",
            "transport": "udp",
            "type": "ipv6" if ":" in step.resolver_ip else "ipv4",
            "direction": "egress",
        }
        doc["source"] = {"ip": step.host.ip, "port": step.source_port}
        doc["destination"] = {"ip": step.resolver_ip, "port": 53}
        doc["client"] = dict(doc["source"])
        doc["server"] = dict(doc["destination"])
        doc["related"] = {"ip": [step.host.ip, step.resolver_ip, *step.answers]}
        return doc


def _windows_sid(process: Process) -> str:
    if process.user.upper() == "SYSTEM":
        return "S-1-5-18"
    return f"S-1-5-21-1004336348-1177238915-682003330-{1000 + process.uid % 9000}"


def write(scenario: ScenarioLike) -> str:
    """NDJSON of every process start, connection and DNS lookup of the scenario."""
    writer = _Writer(scenario)
    docs: list[dict[str, Any]] = []
    for step in scenario.steps:
        if isinstance(step, ProcessStart):
            docs.append(writer.process_start(step))
        elif isinstance(step, Connection):
            docs.append(writer.connection(step))
        elif isinstance(step, DnsLookup):
            docs.extend(writer.dns(step))
    return lines([orjson.dumps(doc).decode("utf-8") for doc in docs])
