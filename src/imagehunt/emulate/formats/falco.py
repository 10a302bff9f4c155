"""Falco alerts as ``json_output: true`` writes them, one JSON object per line.

Falco writes nothing for an event unless one of its rules fires, so a step appears here only
when an upstream rule (falcosecurity/rules) matches it. Falco runs with the stable,
incubating and sandbox rule files loaded, ``Detect outbound connections to common miner pool
ports`` enabled (upstream ships it disabled), ``rule_matching: first`` (the default: the
first matching rule, in load order, is the only one that fires), and ``append_output``
adding ``container.image.repository`` and ``container.image.tag`` to ``output_fields``.
``%container.info`` is rendered as ``container_id=... container_name=...`` (Falco 0.38+).

Which step fires which rule, and why (rules listed in Falco's load order):

* process start of a shell (``shell_binaries``) in a container whose parent is a runtime
  entry point (``container_entrypoint``: runc, containerd-shim, ...) and that is interactive
  -> **Terminal shell in container** (stable, Notice). The step has no terminal, so a shell
  started without ``-c`` (an interactive shell, as ``kubectl exec -it`` or ``docker exec -it``
  start it) is taken to have ``proc.tty`` 34816 (pts/0).
* process start in a container of a program under ``/tmp``, ``/var/tmp`` or ``/dev/shm``
  -> **Drop and execute new binary in container** (stable, Critical): nothing an image ships
  lives there, so the program was written into the container's upper layer
  (``proc.is_exe_upper_layer``).
* process start in a container of a package manager (``package_mgmt_binaries``) whose parent
  is not one -> **Launch Package Management Process in Container** (incubating, Error).
* process start (host or container) whose command line holds ``stratum+tcp``,
  ``stratum2+tcp``, ``stratum+ssl`` or ``stratum2+ssl`` -> **Detect crypto miners using the
  Stratum protocol** (sandbox, Critical).
* connection to a public address whose host name is in Falco's miner domain lists on a
  matching port (``miner_ports`` with ``miner_domains``, 443 with ``https_miner_domains``,
  80 with ``http_miner_domains``) -> **Detect outbound connections to common miner pool
  ports** (sandbox, Critical). Falco resolves the listed domains itself; the step's
  ``destination_name`` says which one the address belongs to.

DNS lookups, image pulls, container starts and cloud calls fire no upstream rule and are
left out, as are Windows hosts. Outputs, priorities and tags are the upstream ones; the
literal ``fd_proto=fd.l4proto`` (no ``%``) is upstream's too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from imagehunt.emulate.formats import ScenarioLike, epoch_nanos, iso_nanos, lines, split_image
from imagehunt.emulate.steps import Connection, ContainerStart, Process, ProcessStart, Step

FORMAT = "falco"
PTS0 = 34816  # (136 << 8) | 0: /dev/pts/0
COMM_BYTES = 15
COMMON = (
    "evt_type=%evt.type user=%user.name user_uid=%user.uid user_loginuid=%user.loginuid "
    "process=%proc.name proc_exepath=%proc.exepath parent=%proc.pname command=%proc.cmdline "
    "terminal=%proc.tty exe_flags=%evt.arg.flags %container.info"
)
CONTAINER_INFO = "container_id=%container.id container_name=%container.name"
EXTRA_FIELDS = ("container.image.repository", "container.image.tag")
SHELL_BINARIES = frozenset({"ash", "bash", "csh", "ksh", "sh", "tcsh", "zsh", "dash"})
CONTAINER_ENTRYPOINT_PARENTS = frozenset(
    {"runc:[0:PARENT]", "runc:[1:CHILD]", "runc", "docker-runc", "exe", "docker-runc-cur",
     "containerd-shim", "systemd", "crio"}
)  # fmt: skip
PACKAGE_MANAGERS = frozenset(
    {"dnf", "dnf-automatic", "rpm", "rpmkey", "yum", "75-system-updat", "rhsmcertd-worke",
     "rhsmcertd", "subscription-ma", "repoquery", "rpmkeys", "rpmq", "yum-cron",
     "yum-config-mana", "yum-debug-dump", "abrt-action-sav", "rpmdb_stat", "microdnf",
     "rhn_check", "yumdb", "dpkg", "dpkg-preconfigu", "dpkg-reconfigur", "dpkg-divert", "apt",
     "apt-get", "aptitude", "frontend", "preinst", "add-apt-reposit", "apt-auto-remova",
     "apt-key", "apt-listchanges", "unattended-upgr", "apt-add-reposit", "apt-cache",
     "apt.systemd.dai", "update-alternat", "gem", "npm", "pip", "pip3", "conda",
     "sane-utils.post", "alternatives", "chef-client", "apk", "snapd"}
)  # fmt: skip
STRATUM_MARKERS = ("stratum+tcp", "stratum2+tcp", "stratum+ssl", "stratum2+ssl")
DROP_DIRECTORIES = ("/tmp/", "/var/tmp/", "/dev/shm/")
MINER_PORTS = frozenset(
    {25, 3333, 3334, 3335, 3336, 3357, 4444, 5555, 5556, 5588, 5730, 6099, 6666, 7777, 7778,
     8000, 8001, 8008, 8080, 8118, 8333, 8888, 8899, 9332, 9999, 14433, 14444, 45560, 45700}
)  # fmt: skip
MINER_DOMAINS = frozenset(
    {"asia1.ethpool.org", "ca.minexmr.com", "cn.stratum.slushpool.com", "de.minexmr.com",
     "eth-ar.dwarfpool.com", "eth-asia.dwarfpool.com", "eth-asia1.nanopool.org",
     "eth-au.dwarfpool.com", "eth-au1.nanopool.org", "eth-br.dwarfpool.com",
     "eth-cn.dwarfpool.com", "eth-cn2.dwarfpool.com", "eth-eu.dwarfpool.com",
     "eth-eu1.nanopool.org", "eth-eu2.nanopool.org", "eth-hk.dwarfpool.com",
     "eth-jp1.nanopool.org", "eth-ru.dwarfpool.com", "eth-ru2.dwarfpool.com",
     "eth-sg.dwarfpool.com", "eth-us-east1.nanopool.org", "eth-us-west1.nanopool.org",
     "eth-us.dwarfpool.com", "eth-us2.dwarfpool.com", "eu.stratum.slushpool.com",
     "eu1.ethermine.org", "eu1.ethpool.org", "fr.minexmr.com", "mine.moneropool.com",
     "mine.xmrpool.net", "pool.minexmr.com", "pool.monero.hashvault.pro",
     "pool.supportxmr.com", "sg.minexmr.com", "sg.stratum.slushpool.com",
     "stratum-eth.antpool.com", "stratum-ltc.antpool.com", "stratum-zec.antpool.com",
     "stratum.antpool.com", "us-east.stratum.slushpool.com", "us1.ethermine.org",
     "us1.ethpool.org", "us2.ethermine.org", "us2.ethpool.org", "xmr-asia1.nanopool.org",
     "xmr-au1.nanopool.org", "xmr-eu1.nanopool.org", "xmr-eu2.nanopool.org",
     "xmr-jp1.nanopool.org", "xmr-us-east1.nanopool.org", "xmr-us-west1.nanopool.org",
     "xmr.crypto-pool.fr", "xmr.pool.minergate.com", "rx.unmineable.com", "ss.antpool.com",
     "dash.antpool.com", "eth.antpool.com", "zec.antpool.com", "xmc.antpool.com",
     "btm.antpool.com", "stratum-dash.antpool.com", "stratum-xmc.antpool.com",
     "stratum-btm.antpool.com"}
)  # fmt: skip
HTTPS_MINER_DOMAINS = frozenset(
    {"ca.minexmr.com", "cn.stratum.slushpool.com", "de.minexmr.com", "fr.minexmr.com",
     "mine.moneropool.com", "mine.xmrpool.net", "pool.minexmr.com", "sg.minexmr.com",
     "stratum-eth.antpool.com", "stratum-ltc.antpool.com", "stratum-zec.antpool.com",
     "stratum.antpool.com", "xmr.crypto-pool.fr", "ss.antpool.com", "stratum-dash.antpool.com",
     "stratum-xmc.antpool.com", "stratum-btm.antpool.com", "btm.antpool.com"}
)  # fmt: skip
HTTP_MINER_DOMAINS = frozenset(
    {"ca.minexmr.com", "de.minexmr.com", "fr.minexmr.com", "mine.moneropool.com",
     "mine.xmrpool.net", "pool.minexmr.com", "sg.minexmr.com", "xmr.crypto-pool.fr"}
)  # fmt: skip
_PRIVATE_NETS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


@dataclass(frozen=True)
class Rule:
    """An upstream Falco rule: name, output template, priority and tags."""

    name: str
    output: str
    priority: str
    tags: tuple[str, ...]


TERMINAL_SHELL = Rule(
    "Terminal shell in container",
    f"A shell was spawned in a container with an attached terminal ({COMMON})",
    "Notice",
    ("maturity_stable", "container", "shell", "mitre_execution", "T1059"),
)
DROP_AND_EXECUTE = Rule(
    "Drop and execute new binary in container",
    "Executing binary not part of base image (proc_exe=%proc.exe proc_sname=%proc.sname "
    "gparent=%proc.aname[2] proc_exe_ino_ctime=%proc.exe_ino.ctime "
    "proc_exe_ino_mtime=%proc.exe_ino.mtime "
    "proc_exe_ino_ctime_duration_proc_start=%proc.exe_ino.ctime_duration_proc_start "
    f"proc_cwd=%proc.cwd container_start_ts=%container.start_ts {COMMON})",
    "Critical",
    ("maturity_stable", "container", "process", "mitre_persistence", "TA0003", "PCI_DSS_11.5.1"),
)
PACKAGE_MANAGEMENT = Rule(
    "Launch Package Management Process in Container",
    f"Package management process launched in container ({COMMON})",
    "Error",
    ("maturity_incubating", "container", "process", "software_mgmt", "mitre_persistence", "T1505"),
)
STRATUM = Rule(
    "Detect crypto miners using the Stratum protocol",
    f"Possible miner running ({COMMON})",
    "Critical",
    ("maturity_sandbox", "host", "container", "process", "mitre_impact", "T1496"),
)
MINER_POOL = Rule(
    "Detect outbound connections to common miner pool ports",
    "Outbound connection to IP/Port flagged by https://cryptoioc.ch (ip=%fd.rip "
    "connection=%fd.name lport=%fd.lport rport=%fd.rport fd_type=%fd.type "
    f"fd_proto=fd.l4proto {COMMON})",
    "Critical",
    ("maturity_sandbox", "host", "container", "network", "mitre_impact", "T1496"),
)


def comm(path_or_name: str) -> str:
    """The kernel's process name: the program's base name cut to 15 bytes."""
    name = path_or_name.replace("\\", "/").rsplit("/", 1)[-1]
    return name.encode("utf-8")[:COMM_BYTES].decode("utf-8", "ignore")


def is_interactive_shell(process: Process) -> bool:
    """A shell started without a command (``-c``) to run: it reads a terminal."""
    return comm(process.executable) in SHELL_BINARIES and "-c" not in process.args[1:]


def _terminal_shell(process: Process) -> bool:
    return (
        process.container is not None
        and is_interactive_shell(process)
        and comm(process.parent_executable) in CONTAINER_ENTRYPOINT_PARENTS
    )


def _drop_and_execute(process: Process) -> bool:
    return process.container is not None and process.executable.startswith(DROP_DIRECTORIES)


def _package_management(process: Process) -> bool:
    return (
        process.container is not None
        and process.user != "_apt"
        and comm(process.executable) in PACKAGE_MANAGERS
        and comm(process.parent_executable) not in PACKAGE_MANAGERS
    )


def _stratum(process: Process) -> bool:
    return any(marker in command_line(process) for marker in STRATUM_MARKERS)


PROCESS_RULES: tuple[tuple[Rule, Callable[[Process], bool]], ...] = (
    (TERMINAL_SHELL, _terminal_shell),
    (DROP_AND_EXECUTE, _drop_and_execute),
    (PACKAGE_MANAGEMENT, _package_management),
    (STRATUM, _stratum),
)


def command_line(process: Process) -> str:
    """Falco's ``proc.cmdline``: the process name, then argv[1:] joined by spaces."""
    return " ".join([comm(process.executable), *process.args[1:]])


def is_miner_pool(step: Connection) -> bool:
    """``net_miner_pool``: a public address of a listed pool domain on a matching port."""
    address = ipaddress.ip_address(step.destination_ip)
    if address.is_loopback or any(address in net for net in _PRIVATE_NETS):
        return False
    name, port = step.destination_name.lower(), step.destination_port
    return (
        (port == 443 and name in HTTPS_MINER_DOMAINS)
        or (port == 80 and name in HTTP_MINER_DOMAINS)
        or (port in MINER_PORTS and name in MINER_DOMAINS)
    )


_FIELD = re.compile(r"%([a-z0-9_.]+(?:\[\d+\])?)")


class _Writer:
    """State of one output: what the scenario says about processes and containers."""

    def __init__(self, scenario: ScenarioLike) -> None:
        self.steps = scenario.steps
        self.known: dict[tuple[str, int], Process] = {}
        self.container_starts: dict[str, datetime] = {}
        for step in scenario.steps:
            if isinstance(step, ContainerStart):
                self.container_starts.setdefault(step.container.id, step.time)

    def _process_fields(self, step: Step, process: Process, evt_type: str) -> dict[str, Any]:
        container = process.container
        interactive_host = container is None and comm(process.parent_executable) in SHELL_BINARIES
        tty = PTS0 if (is_interactive_shell(process) or interactive_host) else 0
        flags = ["EXE_WRITABLE"] if process.uid == 0 else []
        if container is not None and process.executable.startswith(DROP_DIRECTORIES):
            flags.append("EXE_UPPER_LAYER")
        fields: dict[str, Any] = {
            "evt.time": epoch_nanos(step.time),
            "evt.type": evt_type,
            "evt.arg.flags": "|".join(flags) if flags else "0",
            "user.name": process.user,
            "user.uid": process.uid,
            "user.loginuid": process.uid if interactive_host else -1,
            "proc.name": comm(process.executable),
            "proc.exe": process.args[0] if process.args else process.executable,
            "proc.exepath": process.executable,
            "proc.pname": comm(process.parent_executable),
            "proc.cmdline": command_line(process),
            "proc.tty": tty,
            "proc.cwd": process.cwd if process.cwd.endswith("/") else process.cwd + "/",
            "container.id": container.short_id if container else "host",
            "container.name": container.name if container else "host",
        }
        grandparent = self.known.get((step.host.name, process.ppid))
        fields["proc.aname[2]"] = (
            comm(grandparent.parent_executable) if grandparent is not None else None
        )
        fields["proc.sname"] = fields["proc.pname"]
        if container is not None:
            repository, tag = split_image(container.image)
            fields["container.image.repository"] = repository
            fields["container.image.tag"] = tag
            started = self.container_starts.get(container.id)
            fields["container.start_ts"] = epoch_nanos(started) if started else None
        else:
            fields["container.image.repository"] = None
            fields["container.image.tag"] = None
            fields["container.start_ts"] = None
        written = epoch_nanos(step.time - timedelta(seconds=2))
        fields["proc.exe_ino.ctime"] = written
        fields["proc.exe_ino.mtime"] = written
        fields["proc.exe_ino.ctime_duration_proc_start"] = epoch_nanos(step.time) - written
        return fields

    def alert(self, step: Step, rule: Rule, fields: dict[str, Any]) -> str:
        """The JSON line of one alert: output text, its fields, rule, priority, tags, time."""
        template = rule.output.replace("%container.info", CONTAINER_INFO)
        used = ["evt.time", *_FIELD.findall(template), *EXTRA_FIELDS]
        message = _FIELD.sub(lambda m: _text(fields.get(m.group(1))), template)
        when = step.time
        clock = when.strftime("%H:%M:%S.") + f"{when.microsecond:06d}000"
        document = {
            "hostname": step.host.name,
            "output": f"{clock}: {rule.priority} {message}",
            "priority": rule.priority,
            "rule": rule.name,
            "source": "syscall",
            "tags": sorted(rule.tags),
            "time": iso_nanos(when),
            "output_fields": {name: fields.get(name) for name in sorted(set(used))},
        }
        return orjson.dumps(document).decode("utf-8")

    def process_start(self, step: ProcessStart) -> str | None:
        """The alert of the first rule a process start fires, or None."""
        process = step.process
        self.known[(step.host.name, process.pid)] = process
        for rule, fires in PROCESS_RULES:
            if fires(process):
                return self.alert(step, rule, self._process_fields(step, process, "execve"))
        return None

    def connection(self, step: Connection) -> str | None:
        """The miner pool alert of a connection, or None."""
        if not is_miner_pool(step):
            return None
        fields = self._process_fields(step, step.process, "connect")
        fields.update(
            {
                "fd.rip": step.destination_ip,
                "fd.name": (
                    f"{step.source_ip}:{step.source_port}->"
                    f"{step.destination_ip}:{step.destination_port}"
                ),
                "fd.lport": step.source_port,
                "fd.rport": step.destination_port,
                "fd.type": "ipv6" if ":" in step.destination_ip else "ipv4",
            }
        )
        return self.alert(step, MINER_POOL, fields)


def _text(value: Any) -> str:
    return "<NA>" if value is None else str(value)


def write(scenario: ScenarioLike) -> str:
    """Falco's JSON alerts for the scenario's Linux steps that fire an upstream rule."""
    writer = _Writer(scenario)
    alerts: list[str] = []
    for step in scenario.steps:
        if step.host.os != "linux":
            continue
        alert = None
        if isinstance(step, ProcessStart):
            alert = writer.process_start(step)
        elif isinstance(step, Connection):
            alert = writer.connection(step)
        if alert is not None:
            alerts.append(alert)
    return lines(alerts)
