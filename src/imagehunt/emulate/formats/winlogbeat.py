"""Windows Sysmon events as winlogbeat ships them: one JSON document per line.

Sysmon (``Microsoft-Windows-Sysmon/Operational``) records EventID 1 for a process start,
EventID 3 for a connection and EventID 22 for a DNS query; winlogbeat reads the channel and
ships each record with ``winlog.*`` (channel, provider, ``event_id`` and ``record_id`` as
strings, ``computer_name``, ``event_data`` with every Sysmon field as text, the Sysmon
service's own pid, the task name), ``event.code``/``action``/``kind``/``provider``,
``log.level``, the rendered ``message`` and the beat's ``agent``/``host``/``ecs`` fields.
No ingest pipeline has run: there are no ``process.*`` fields, as in winlogbeat's own output.

Only Windows hosts are written. Version resources and hashes are filled for the programs a
Windows machine ships (a small table); other programs get Sysmon's ``-`` and a hash derived
from the path. Record ids count up per host; GUIDs are derived from the process.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import orjson

from imagehunt.emulate.formats import (
    ProcessIds,
    ScenarioLike,
    derived_uuid,
    digest,
    iso_millis,
    lines,
    seeded_random,
)
from imagehunt.emulate.formats.sysmon import (
    DataItems,
    network_data,
    parent_user,
    process_create_data,
    utc_time,
)
from imagehunt.emulate.steps import Connection, DnsLookup, Host, Process, ProcessStart, Step

FORMAT = "winlogbeat"
CHANNEL = "Microsoft-Windows-Sysmon/Operational"
PROVIDER = "Microsoft-Windows-Sysmon"
PROVIDER_GUID = "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"
BEAT_VERSION = "8.15.2"
TASKS = {
    1: ("Process Create (rule: ProcessCreate)", "Process Create"),
    3: ("Network connection detected (rule: NetworkConnect)", "Network connection detected"),
    22: ("Dns query (rule: DnsQuery)", "Dns query"),
}
_MS = ("Microsoft® Windows® Operating System", "Microsoft Corporation")
# (FileVersion, Description, Product, Company, OriginalFileName) of stock Windows programs
FILE_INFO: dict[str, tuple[str, str, str, str, str]] = {
    "powershell.exe": (
        "10.0.22621.3880 (WinBuild.160101.0800)", "Windows PowerShell", *_MS, "PowerShell.EXE",
    ),
    "cmd.exe": (
        "10.0.22621.3880 (WinBuild.160101.0800)", "Windows Command Processor", *_MS, "Cmd.Exe",
    ),
    "curl.exe": ("8.7.1", "The curl executable", "The curl executable", "curl, https://curl.se/",
                 "curl.exe"),
    "msedge.exe": (
        "130.0.2849.68", "Microsoft Edge", "Microsoft Edge", "Microsoft Corporation",
        "msedge.exe",
    ),
    "explorer.exe": (
        "10.0.22621.3880 (WinBuild.160101.0800)", "Windows Explorer", *_MS, "EXPLORER.EXE",
    ),
}  # fmt: skip
_WINDOWS_OS = {
    "build": "22631.3880",
    "family": "windows",
    "kernel": "10.0.22621.3880 (WinBuild.160101.0800)",
    "name": "Windows 11 Enterprise",
    "platform": "windows",
    "type": "windows",
    "version": "10.0",
}


def query_results(answers: tuple[str, ...]) -> str:
    """Sysmon's ``QueryResults``: IPv4 answers as ``::ffff:a.b.c.d``, each ended by ``;``."""
    return "".join((a if ":" in a else f"::ffff:{a}") + ";" for a in answers) or "-"


def windows_guid(seed: int, host: Host, process_id: str) -> str:
    """A Sysmon GUID: host part, then the process's hash (braces as Sysmon renders them)."""
    host_part = digest(seed, "machine-guid", host.name)[:4].hex()
    return (
        f"{{{host_part}-{process_id[9:13]}-{process_id[14:18]}-{process_id[19:23]}-000000000000}}"
    )


class _Writer:
    """State of one output: generator, process ids, record ids, service pids per host."""

    def __init__(self, scenario: ScenarioLike) -> None:
        self.seed = scenario.seed
        self.random: random.Random = seeded_random(scenario, FORMAT)
        self.ids = ProcessIds(scenario, FORMAT)
        self.records: dict[str, int] = {}
        self.services: dict[str, tuple[int, int]] = {}

    def _guid(self, host: Host, pid: int, executable: str) -> str:
        return windows_guid(self.seed, host, self.ids.of(host, pid, executable))

    def _user(self, host: Host, name: str) -> str:
        if name.upper() == "SYSTEM":
            return "NT AUTHORITY\\SYSTEM"
        return f"{host.domain}\\{name}" if host.domain else f"{host.name}\\{name}"

    def _computer(self, host: Host) -> str:
        return f"{host.name}.{host.domain.lower()}.local" if host.domain else host.name

    def _document(self, step: Step, event_id: int, data: DataItems) -> dict[str, Any]:
        host = step.host
        record = self.records.get(host.name, 100000 + self.random.randrange(900000))
        self.records[host.name] = record + 1 + self.random.randrange(4)
        service = self.services.setdefault(
            host.name, (2000 + self.random.randrange(4000), 3000 + self.random.randrange(5000))
        )
        created: datetime = step.time + timedelta(milliseconds=1 + self.random.randrange(5))
        task, title = TASKS[event_id]
        agent_id = derived_uuid(self.seed, FORMAT, "agent", host.name)
        message = "\n".join([f"{title}:", *(f"{name}: {value}" for name, value in data)])
        return {
            "@timestamp": iso_millis(created),
            "agent": {
                "ephemeral_id": derived_uuid(self.seed, FORMAT, "ephemeral", host.name),
                "id": agent_id,
                "name": host.name,
                "type": "winlogbeat",
                "version": BEAT_VERSION,
            },
            "ecs": {"version": "8.0.0"},
            "event": {
                "action": task,
                "code": str(event_id),
                "created": iso_millis(created + timedelta(milliseconds=400)),
                "kind": "event",
                "provider": PROVIDER,
            },
            "host": {
                "architecture": "x86_64",
                "hostname": host.name,
                "id": derived_uuid(self.seed, FORMAT, "host", host.name),
                "ip": [host.ip],
                "name": host.name,
                "os": _WINDOWS_OS,
            },
            "log": {"level": "information"},
            "message": message,
            "winlog": {
                "api": "wineventlog",
                "channel": CHANNEL,
                "computer_name": self._computer(host),
                "event_data": dict(data),
                "event_id": str(event_id),
                "opcode": "Info",
                "process": {"pid": service[0], "thread": {"id": service[1]}},
                "provider_guid": PROVIDER_GUID,
                "provider_name": PROVIDER,
                "record_id": str(record),
                "task": task,
                "user": {
                    "domain": "NT AUTHORITY",
                    "identifier": "S-1-5-18",
                    "name": "SYSTEM",
                    "type": "User",
                },
                "version": 5,
            },
        }

    def process_create(self, step: ProcessStart) -> dict[str, Any]:
        """The document of Sysmon EventID 1 for one process start."""
        host, process = step.host, step.process
        guids = (
            self._guid(host, process.pid, process.executable),
            self._guid(host, process.ppid, process.parent_executable),
        )
        system = process.user.upper() == "SYSTEM"
        logon_id = "0x3e7" if system else f"0x{0x1A0000 + process.uid * 7:x}"
        logon = (
            "{" + derived_uuid(self.seed, FORMAT, "logon", host.name, process.user) + "}",
            logon_id,
            "0" if system else "1",
        )
        info = FILE_INFO.get(process.name.lower(), ("-", "-", "-", "-", "-"))
        data = process_create_data(
            step.time,
            process,
            guids,
            (self._user(host, process.user), self._user(host, parent_user(process, process.user))),
            logon,
            info,
            "System" if system else "Medium",
            _hashes(self.seed, process),
        )
        return self._document(step, 1, data)

    def network(self, step: Connection) -> dict[str, Any]:
        """The document of Sysmon EventID 3 for one outbound connection."""
        process = step.process
        guid = self._guid(step.host, process.pid, process.executable)
        data = network_data(
            step, guid, self._user(step.host, process.user), self._computer(step.host)
        )
        return self._document(step, 3, data)

    def dns(self, step: DnsLookup) -> dict[str, Any]:
        """The document of Sysmon EventID 22 for one DNS query."""
        process = step.process
        data: DataItems = [
            ("RuleName", "-"),
            ("UtcTime", utc_time(step.time)),
            ("ProcessGuid", self._guid(step.host, process.pid, process.executable)),
            ("ProcessId", str(process.pid)),
            ("QueryName", step.name),
            ("QueryStatus", "0" if step.answers else "9003"),
            ("QueryResults", query_results(step.answers)),
            ("Image", process.executable),
            ("User", self._user(step.host, process.user)),
        ]
        return self._document(step, 22, data)


def _hashes(seed: int, process: Process) -> str:
    sha256 = digest(seed, "sha256", process.executable.lower()).hex().upper()
    imphash = digest(seed, "imphash", process.executable.lower())[:16].hex().upper()
    return f"SHA256={sha256},IMPHASH={imphash}"


def write(scenario: ScenarioLike) -> str:
    """winlogbeat NDJSON of the Sysmon events of the scenario's Windows steps."""
    writer = _Writer(scenario)
    docs: list[dict[str, Any]] = []
    for step in scenario.steps:
        if step.host.os != "windows":
            continue
        if isinstance(step, ProcessStart):
            docs.append(writer.process_create(step))
        elif isinstance(step, Connection):
            docs.append(writer.network(step))
        elif isinstance(step, DnsLookup):
            docs.append(writer.dns(step))
    return lines([orjson.dumps(doc).decode("utf-8") for doc in docs])
