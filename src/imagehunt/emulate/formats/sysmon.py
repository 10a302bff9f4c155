"""Sysmon for Linux events as syslog writes them: ``<header> <host> sysmon: <Event>...</Event>``.

One event per line, the XML Sysmon for Linux renders (provider ``Linux-Sysmon``, channel
``Linux-Sysmon/Operational``): EventID 1 (process create) for a process start and EventID 3
(network connection) for a connection. Sysmon for Linux has no DNS event (EventID 22 is
Windows-only) and sees neither image pulls nor container starts as such, so those steps are
left out, as are Windows hosts. The syslog header is the traditional RFC 3164 one rsyslog
writes (``Nov 20 09:14:07``), in UTC. Values are XML-escaped; empty values are ``-``, as
Sysmon writes them. Record ids count up per host from a seeded start; process GUIDs are the
host's id followed by a hash of the process (Sysmon for Linux: machine id, then start time).

The EventData builders here are shared with the winlogbeat writer (Windows Sysmon).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from imagehunt.emulate.formats import (
    ProcessIds,
    ScenarioLike,
    digest,
    iso_nanos,
    lines,
    seeded_random,
)
from imagehunt.emulate.steps import Connection, Host, Process, ProcessStart, Step

FORMAT = "sysmon"
PROVIDER = "Linux-Sysmon"
PROVIDER_GUID = "{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"
CHANNEL = "Linux-Sysmon/Operational"
EVENT_VERSION = 5
NO_SESSION = 4294967295
RUNTIME_PREFIXES = ("containerd-shim", "runc", "conmon", "crun", "dockerd", "containerd")
_XML_ENTITIES = {'"': "&quot;", "'": "&apos;"}
_PORT_NAMES = {53: "domain", 80: "http", 443: "https", 22: "ssh"}

DataItems = list[tuple[str, str]]


def xml_text(value: str) -> str:
    """A value escaped for XML text and attributes (&, <, >, quotes)."""
    return escape(value, _XML_ENTITIES)


def host_token(seed: int, host: Host) -> str:
    """The 8 hex digits that start every GUID of a host (from its machine id)."""
    return digest(seed, "machine-id", host.name)[:4].hex()


def sysmon_guid(seed: int, host: Host, process_id: str) -> str:
    """``{hhhhhhhh-xxxx-xxxx-0000-000000000000}``: host part, then the process's hash."""
    middle = process_id.replace("-", "")
    return f"{{{host_token(seed, host)}-{middle[:4]}-{middle[4:8]}-0000-000000000000}}"


def utc_time(when: datetime) -> str:
    """Sysmon's ``UtcTime``: ``2026-11-20 09:14:07.412``."""
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def is_runtime(name: str) -> bool:
    """True for container runtime programs (their processes run as root)."""
    return name.lower().startswith(RUNTIME_PREFIXES)


def parent_user(process: Process, own_user: str) -> str:
    """Who the parent ran as: root for a runtime parent, else the process's own user."""
    return "root" if is_runtime(process.parent_name) else own_user


def dash(value: str) -> str:
    """Sysmon's placeholder for an empty value."""
    return value if value else "-"


def process_create_data(
    when: datetime,
    process: Process,
    guids: tuple[str, str],
    user: tuple[str, str],
    logon: tuple[str, str, str],
    file_info: tuple[str, str, str, str, str],
    integrity: str,
    hashes: str,
) -> DataItems:
    """EventData of EventID 1 in Sysmon's order. ``guids``: (process, parent); ``user``:
    (user, parent user); ``logon``: (guid, id, terminal session); ``file_info``: (version,
    description, product, company, original file name)."""
    version, description, product, company, original = file_info
    return [
        ("RuleName", "-"),
        ("UtcTime", utc_time(when)),
        ("ProcessGuid", guids[0]),
        ("ProcessId", str(process.pid)),
        ("Image", process.executable),
        ("FileVersion", version),
        ("Description", description),
        ("Product", product),
        ("Company", company),
        ("OriginalFileName", original),
        ("CommandLine", process.command_line),
        ("CurrentDirectory", process.cwd),
        ("User", user[0]),
        ("LogonGuid", logon[0]),
        ("LogonId", logon[1]),
        ("TerminalSessionId", logon[2]),
        ("IntegrityLevel", integrity),
        ("Hashes", hashes),
        ("ParentProcessGuid", guids[1]),
        ("ParentProcessId", str(process.ppid)),
        ("ParentImage", process.parent_executable),
        ("ParentCommandLine", dash(process.parent_command_line)),
        ("ParentUser", user[1]),
    ]


def network_data(step: Connection, guid: str, user: str, source_host: str) -> DataItems:
    """EventData of EventID 3 (an outbound connection) in Sysmon's order."""
    source_v6 = ":" in step.source_ip
    destination_v6 = ":" in step.destination_ip
    return [
        ("RuleName", "-"),
        ("UtcTime", utc_time(step.time)),
        ("ProcessGuid", guid),
        ("ProcessId", str(step.process.pid)),
        ("Image", step.process.executable),
        ("User", user),
        ("Protocol", step.transport),
        ("Initiated", "true"),
        ("SourceIsIpv6", "true" if source_v6 else "false"),
        ("SourceIp", step.source_ip),
        ("SourceHostname", source_host),
        ("SourcePort", str(step.source_port)),
        ("SourcePortName", "-"),
        ("DestinationIsIpv6", "true" if destination_v6 else "false"),
        ("DestinationIp", step.destination_ip),
        ("DestinationHostname", "-"),
        ("DestinationPort", str(step.destination_port)),
        ("DestinationPortName", _PORT_NAMES.get(step.destination_port, "-")),
    ]


class _Writer:
    """State of one output: generator, record ids and the daemon's pid per host."""

    def __init__(self, scenario: ScenarioLike) -> None:
        self.seed = scenario.seed
        self.random: random.Random = seeded_random(scenario, FORMAT)
        self.ids = ProcessIds(scenario, FORMAT)
        self.records: dict[str, int] = {}
        self.daemons: dict[str, int] = {}

    def _guid(self, host: Host, pid: int, executable: str) -> str:
        return sysmon_guid(self.seed, host, self.ids.of(host, pid, executable))

    def _system(self, step: Step, event_id: int) -> str:
        host = step.host
        record = self.records.get(host.name, 1000 + self.random.randrange(90000))
        self.records[host.name] = record + 1
        daemon = self.daemons.setdefault(host.name, 600 + self.random.randrange(1400))
        created = step.time + timedelta(microseconds=150 + self.random.randrange(3000))
        return (
            f'<System><Provider Name="{PROVIDER}" Guid="{PROVIDER_GUID}"/>'
            f"<EventID>{event_id}</EventID><Version>{EVENT_VERSION}</Version><Level>4</Level>"
            f"<Task>{event_id}</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>"
            f'<TimeCreated SystemTime="{iso_nanos(created)}"/>'
            f"<EventRecordID>{record}</EventRecordID>"
            f'<Correlation/><Execution ProcessID="{daemon}" ThreadID="{daemon}"/>'
            f"<Channel>{CHANNEL}</Channel><Computer>{xml_text(host.name)}</Computer>"
            '<Security UserId="0"/></System>'
        )

    def _line(self, step: Step, event_id: int, data: DataItems) -> str:
        items = "".join(f'<Data Name="{name}">{xml_text(value)}</Data>' for name, value in data)
        when = step.time
        header = f"{when:%b} {when.day:2d} {when:%H:%M:%S}"
        return (
            f"{header} {step.host.name} sysmon: <Event>{self._system(step, event_id)}"
            f"<EventData>{items}</EventData></Event>"
        )

    def process_create(self, step: ProcessStart) -> str:
        """The syslog line of EventID 1 for one process start."""
        host, process = step.host, step.process
        guids = (
            self._guid(host, process.pid, process.executable),
            self._guid(host, process.ppid, process.parent_executable),
        )
        interactive = process.container is None and process.uid != 0
        session = str(2 + process.uid % 40) if interactive else str(NO_SESSION)
        logon = (
            f"{{{host_token(self.seed, host)}-0000-0000-0000-{process.uid:012x}}}",
            str(process.uid),
            session,
        )
        data = process_create_data(
            step.time,
            process,
            guids,
            (process.user, parent_user(process, process.user)),
            logon,
            ("-", "-", "-", "-", "-"),
            "no level",
            "-",
        )
        return self._line(step, 1, data)

    def network(self, step: Connection) -> str:
        """The syslog line of EventID 3 for one outbound connection."""
        process = step.process
        guid = self._guid(step.host, process.pid, process.executable)
        return self._line(step, 3, network_data(step, guid, process.user, "-"))


def write(scenario: ScenarioLike) -> str:
    """Syslog lines of Sysmon for Linux for the scenario's Linux process starts and connections."""
    writer = _Writer(scenario)
    out: list[str] = []
    for step in scenario.steps:
        if step.host.os != "linux":
            continue
        if isinstance(step, ProcessStart):
            out.append(writer.process_create(step))
        elif isinstance(step, Connection):
            out.append(writer.network(step))
    return lines(out)
