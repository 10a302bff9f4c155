"""Sysmon EventData -> ECS, shared by the Sysmon for Linux, EVTX and winlogbeat readers.

Every reader first brings its record to the same shape: the ``System`` facts
(``SystemFacts``) and the ``EventData`` names and values (a dict keyed by Sysmon's names,
values as text, numbers or booleans). ``sysmon_values`` maps that to schema fields; only
EventIDs 1 (process create), 3 (network connection), 5 (process terminated) and 22 (DNS query)
get categories. Sysmon has no argv: ``split_posix`` and ``split_windows`` split a command line
the way a shell or ``CommandLineToArgvW`` would, without executing anything.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imagehunt.sources.normalize import normalize_ecs

MODULE = "sysmon"
LINUX = "linux"
WINDOWS = "windows"
SYSMON_WINDOWS_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SYSMON_LINUX_CHANNEL = "Linux-Sysmon/Operational"
SYSMON_PROVIDERS = frozenset({"Microsoft-Windows-Sysmon", "Linux-Sysmon"})

# Sysmon's task names (as Event Viewer shows them), used as event.action.
ACTIONS: dict[str, str] = {
    "1": "Process Create",
    "2": "File creation time changed",
    "3": "Network connection detected",
    "4": "Sysmon service state changed",
    "5": "Process terminated",
    "6": "Driver loaded",
    "7": "Image loaded",
    "8": "CreateRemoteThread detected",
    "9": "RawAccessRead detected",
    "10": "Process accessed",
    "11": "File created",
    "12": "Registry object added or deleted",
    "13": "Registry value set",
    "14": "Registry object renamed",
    "15": "File stream created",
    "16": "Sysmon config state changed",
    "17": "Pipe Created",
    "18": "Pipe Connected",
    "19": "WmiEventFilter activity detected",
    "20": "WmiEventConsumer activity detected",
    "21": "WmiEventConsumerToFilter activity detected",
    "22": "Dns query",
    "23": "File Delete archived",
    "24": "Clipboard changed",
    "25": "Process Tampering",
    "26": "File Delete logged",
    "27": "File Block Executable",
    "28": "File Block Shredding",
    "29": "File Executable Detected",
    "255": "Error",
}
# Sysmon's placeholders for "no value" ("(null)" is Sysmon for Linux's).
EMPTY_VALUES = frozenset({"", "-", "(null)"})


@dataclass(frozen=True)
class SystemFacts:
    """What a record's ``System`` part says, whatever the container format."""

    event_id: str | None
    computer: str | None = None
    record_id: str | None = None
    time_created: Any = None
    channel: str | None = None
    provider: str | None = None


def is_sysmon(system: SystemFacts) -> bool:
    """True when the record comes from Sysmon (Windows or Linux), by provider or channel."""
    if system.provider in SYSMON_PROVIDERS:
        return True
    return system.channel in (SYSMON_WINDOWS_CHANNEL, SYSMON_LINUX_CHANNEL)


# ---- small value helpers ----------------------------------------------------------------------
def text_of(value: Any) -> str | None:
    """A meaningful text value, or None for Sysmon's placeholders and non-scalars."""
    if type(value) is str:
        return None if value in EMPTY_VALUES or value.isspace() else value
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else str(value)
    return None if text.strip() in EMPTY_VALUES else text


def event_id_text(value: Any) -> str | None:
    """EventID as decimal text from an int, a string, or EVTX's ``{"#text": n}`` form."""
    if isinstance(value, dict):
        value = value.get("#text")
    text = text_of(value)
    return text.strip() if text is not None else None


def guid(value: Any) -> str | None:
    """A GUID without its braces (EVTX renders none, the XML and winlogbeat do)."""
    text = text_of(value)
    return text.strip().strip("{}") if text is not None else None


def basename(path: str | None, os_type: str) -> str | None:
    """File name of an executable path; Windows paths split on both slashes."""
    if not path:
        return None
    if os_type == WINDOWS:
        cut = max(path.rfind("\\"), path.rfind("/"))
        return path[cut + 1 :] or None
    return path.rsplit("/", 1)[-1] or None


def user_name(value: Any) -> str | None:
    """``DOMAIN\\user`` -> ``user`` (ECS user.name carries no domain)."""
    text = text_of(value)
    if text is None:
        return None
    return text.rpartition("\\")[2] or text


def is_true(value: Any) -> bool | None:
    """Sysmon booleans: ``true``/``false`` text or a real bool; None when neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    return None


def resolved_ips(query_results: Any) -> list[str] | None:
    """Addresses in a Sysmon ``QueryResults`` (``type: 5 cname;::ffff:1.2.3.4;``), as written.

    ``type: N name`` items (CNAMEs and other records) are dropped; IPv4-mapped IPv6 forms are
    kept as Sysmon wrote them.
    """
    text = text_of(query_results)
    if text is None:
        return None
    found = []
    for item in text.split(";"):
        candidate = item.strip()
        if not candidate or candidate.startswith("type:"):
            continue
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            continue
        found.append(candidate)
    return found or None


# ---- command lines ----------------------------------------------------------------------------
def split_posix(command_line: str) -> list[str]:
    """Arguments of a Linux command line with shell-like quoting; unbalanced -> whitespace."""
    if not any(mark in command_line for mark in "'\"\\"):
        return command_line.split()
    try:
        return shlex.split(command_line)
    except ValueError:
        return command_line.split()


_WINDOWS_BLANKS = " \t"


def _windows_program(text: str) -> tuple[str, int]:
    """argv[0] of a Windows command line: only quotes are special there, no escapes."""
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            return text[1:], len(text)
        return text[1:end], end + 1
    end = 0
    while end < len(text) and text[end] not in _WINDOWS_BLANKS:
        end += 1
    return text[:end], end


def _windows_arguments(text: str) -> list[str]:
    """Arguments after argv[0] with the ``CommandLineToArgvW`` rules for quotes and backslashes.

    ``2n`` backslashes before a quote give ``n`` backslashes and the quote opens or closes a
    quoted part; ``2n+1`` give ``n`` backslashes and a literal quote; other backslashes are
    literal. In a run of quotes, every third one (counting the one that opened the quoted
    part) is a literal quote.
    """
    args: list[str] = []
    current: list[str] = []
    started = False
    quotes = 0  # 1 inside a quoted part
    slashes = 0
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        index += 1
        if char == "\\":
            slashes += 1
            started = True
            continue
        if char == '"':
            current.append("\\" * (slashes // 2))
            started = True
            if slashes % 2:
                current.append('"')
                slashes = 0
                continue
            slashes = 0
            quotes += 1
            while index < size and text[index] == '"':
                quotes += 1
                index += 1
                if quotes == 3:
                    current.append('"')
                    quotes = 0
            if quotes == 2:
                quotes = 0
            continue
        if slashes:
            current.append("\\" * slashes)
            slashes = 0
        if char in _WINDOWS_BLANKS and quotes == 0:
            if started:
                args.append("".join(current))
                current, started = [], False
            continue
        current.append(char)
        started = True
    if slashes:
        current.append("\\" * slashes)
    if started:
        args.append("".join(current))
    return args


def split_windows(command_line: str) -> list[str]:
    """Arguments of a Windows command line as ``CommandLineToArgvW`` splits it."""
    text = command_line.lstrip(_WINDOWS_BLANKS)
    if not text:
        return []
    program, end = _windows_program(text)
    rest = text[end:]
    if '"' not in rest:
        return [program, *rest.split()]
    return [program, *_windows_arguments(rest)]


def split_command_line(command_line: str | None, os_type: str) -> list[str] | None:
    """``process.args`` from a command line, or None when there is none."""
    if not command_line:
        return None
    args = split_windows(command_line) if os_type == WINDOWS else split_posix(command_line)
    return args or None


# ---- EventData -> ECS -------------------------------------------------------------------------
def _process(data: Mapping[str, Any], os_type: str) -> dict[str, Any]:
    """The acting process of any Sysmon event that names one (Image, ProcessId, ...)."""
    executable = text_of(data.get("Image"))
    return {
        "process.entity_id": guid(data.get("ProcessGuid")),
        "process.pid": text_of(data.get("ProcessId")),
        "process.executable": executable,
        "process.name": basename(executable, os_type),
        "user.name": user_name(data.get("User")),
    }


def _process_create(data: Mapping[str, Any], os_type: str) -> dict[str, Any]:
    command_line = text_of(data.get("CommandLine"))
    parent = text_of(data.get("ParentImage"))
    return {
        "event.category": ["process"],
        "event.type": ["start"],
        "process.command_line": command_line,
        "process.args": split_command_line(command_line, os_type),
        "process.working_directory": text_of(data.get("CurrentDirectory")),
        "process.parent.entity_id": guid(data.get("ParentProcessGuid")),
        "process.parent.pid": text_of(data.get("ParentProcessId")),
        "process.parent.executable": parent,
        "process.parent.name": basename(parent, os_type),
        "process.parent.command_line": text_of(data.get("ParentCommandLine")),
    }


def _process_end(data: Mapping[str, Any], os_type: str) -> dict[str, Any]:
    return {"event.category": ["process"], "event.type": ["end"]}


def _network(data: Mapping[str, Any], os_type: str) -> dict[str, Any]:
    initiated = is_true(data.get("Initiated"))
    transport = text_of(data.get("Protocol"))
    direction = None if initiated is None else ("egress" if initiated else "ingress")
    return {
        "event.category": ["network"],
        "event.type": ["connection", "start"],
        "network.transport": transport.lower() if transport else None,
        "network.direction": direction,
        "source.ip": text_of(data.get("SourceIp")),
        "source.port": text_of(data.get("SourcePort")),
        "destination.ip": text_of(data.get("DestinationIp")),
        "destination.port": text_of(data.get("DestinationPort")),
        "destination.domain": text_of(data.get("DestinationHostname")),
    }


def _dns(data: Mapping[str, Any], os_type: str) -> dict[str, Any]:
    status = text_of(data.get("QueryStatus"))
    outcome = None if status is None else ("success" if status.strip() == "0" else "failure")
    return {
        "event.category": ["network"],
        "event.type": ["protocol"],
        "event.outcome": outcome,
        "network.protocol": "dns",
        "dns.question.name": text_of(data.get("QueryName")),
        "dns.resolved_ip": resolved_ips(data.get("QueryResults")),
    }


_BY_EVENT_ID: dict[str, Callable[[Mapping[str, Any], str], dict[str, Any]]] = {
    "1": _process_create,
    "3": _network,
    "5": _process_end,
    "22": _dns,
}


def record_values(system: SystemFacts, os_type: str) -> dict[str, Any]:
    """What every record gives, Sysmon or not: code, record id, host and time."""
    return {
        "event.kind": "event",
        "event.code": system.event_id,
        "event.id": text_of(system.record_id),
        "event.provider": system.provider,
        "host.name": text_of(system.computer),
        "host.os.type": os_type,
        "@timestamp": system.time_created,
    }


def sysmon_values(system: SystemFacts, data: Mapping[str, Any], os_type: str) -> dict[str, Any]:
    """Schema values of one Sysmon record (``os_type``: ``LINUX`` or ``WINDOWS``)."""
    values = record_values(system, os_type)
    values["event.module"] = MODULE
    values["observer.product"] = MODULE
    values["event.action"] = ACTIONS.get(system.event_id or "")
    utc_time = text_of(data.get("UtcTime"))
    if utc_time is not None:
        values["@timestamp"] = utc_time
    values.update(_process(data, os_type))
    specific = _BY_EVENT_ID.get(system.event_id or "")
    if specific is not None:
        values.update(specific(data, os_type))
    return values


def record_or_sysmon_values(
    system: SystemFacts, data: Mapping[str, Any] | None, os_type: str
) -> dict[str, Any]:
    """Sysmon records mapped in full; any other channel's record: code, host and time only."""
    if data is not None and is_sysmon(system):
        return sysmon_values(system, data, os_type)
    return record_values(system, os_type)


# ---- winlog documents (winlogbeat, Elastic's sysmon_linux) ------------------------------------
_WINLOG = "winlog"
_WINLOG_DOT = "winlog."
_EVENT_DATA = "event_data"
_EVENT_DATA_DOT = "event_data."


def winlog_part(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``winlog`` object of a document, nested or as dotted ``winlog.*`` keys (or both)."""
    nested = doc.get(_WINLOG)
    part: dict[str, Any] = dict(nested) if isinstance(nested, dict) else {}
    dotted = [key for key in doc if key.startswith(_WINLOG_DOT)]
    for key in dotted:
        part.setdefault(key[len(_WINLOG_DOT) :], doc[key])
    if not part and not isinstance(nested, dict):
        return None
    return part


def winlog_event_data(part: Mapping[str, Any]) -> dict[str, Any]:
    """``event_data`` of a winlog object, nested or dotted."""
    nested = part.get(_EVENT_DATA)
    data: dict[str, Any] = dict(nested) if isinstance(nested, dict) else {}
    for key, value in part.items():
        if key.startswith(_EVENT_DATA_DOT):
            data.setdefault(key[len(_EVENT_DATA_DOT) :], value)
    return data


def winlog_channel(doc: Mapping[str, Any]) -> str | None:
    """``winlog.channel`` of a document, or None."""
    part = winlog_part(doc)
    return text_of(part.get("channel")) if part is not None else None


def winlog_system(
    part: Mapping[str, Any], data: Mapping[str, Any], doc: Mapping[str, Any]
) -> SystemFacts:
    """``SystemFacts`` of a winlog object (the provider may sit in ``event_data``)."""
    provider = text_of(part.get("provider_name")) or text_of(data.get("provider_name"))
    return SystemFacts(
        event_id=event_id_text(part.get("event_id")),
        computer=text_of(part.get("computer_name")),
        record_id=text_of(part.get("record_id")),
        time_created=part.get("time_created") or doc.get("@timestamp"),
        channel=text_of(part.get("channel")),
        provider=provider,
    )


def is_linux_channel(channel: str | None, provider: str | None = None) -> bool:
    """True for Sysmon for Linux's channel or provider (``Linux-Sysmon...``)."""
    return (channel or "").startswith("Linux-") or (provider or "").startswith("Linux-")


def winlog_values(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """Schema values of a winlog document; its own ECS fields win over the mapped ones.

    The OS is Linux for Sysmon for Linux's channel, else Windows. None when the document has
    no ``winlog`` object.
    """
    part = winlog_part(doc)
    if part is None:
        return None
    data = winlog_event_data(part)
    system = winlog_system(part, data, doc)
    os_type = LINUX if is_linux_channel(system.channel, system.provider) else WINDOWS
    values = record_or_sysmon_values(system, data, os_type)
    values.update(normalize_ecs(doc))
    return values
