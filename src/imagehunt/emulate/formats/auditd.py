"""Linux auditd raw log (``/var/log/audit/audit.log``, ``log_format = RAW``, node names on).

The host runs the usual audit rules ``-a always,exit -F arch=b64 -S execve -k exec`` and
``-a always,exit -F arch=b64 -S connect -k connect``, so it records:

* a process start as one execve event: ``SYSCALL`` (x86_64 ``arch=c000003e``,
  ``syscall=59``), ``EXECVE`` (``argc``, ``a0``...), ``CWD``, ``PATH`` (item 0 the program,
  item 1 its loader) and ``PROCTITLE``;
* a connection as one connect event: ``SYSCALL`` (``syscall=42``), ``SOCKADDR`` (the raw
  ``struct sockaddr_in``/``sockaddr_in6`` in hex) and ``PROCTITLE``;
* a DNS lookup only as the resolver's ``connect`` of its UDP socket to port 53: auditd never
  sees the name that was asked;
* a container start as the runtime's own execs: ``containerd-shim-runc-v2`` (or ``conmon`` for
  podman), then ``runc create`` under it. The container's processes then have the shim as
  parent, which is how an auditd reader ties them to a container.

All records of one event share ``msg=audit(SECONDS.MILLIS:SERIAL)``; serials increase (with
gaps, as other rules' events take numbers too). Values follow the kernel's encoding: a string
is written in double quotes unless it holds a space, a double quote, a control or a non-ASCII
byte, in which case it is upper-case hex of its bytes; the process title is argv joined by
NUL, cut to 128 bytes. Paths are what the kernel resolves in the process's own mount
namespace, so a container's program has its in-container path. Image pulls and cloud calls
leave no execve/connect of their own here; Windows hosts have no auditd.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from imagehunt.emulate.formats import ScenarioLike, digest, epoch_seconds, lines, seeded_random
from imagehunt.emulate.steps import (
    Connection,
    Container,
    ContainerStart,
    DnsLookup,
    Host,
    Process,
    ProcessStart,
    Step,
)

FORMAT = "auditd"
ARCH_X86_64 = "c000003e"
SYSCALL_EXECVE = 59
SYSCALL_CONNECT = 42
EXEC_KEY = "exec"
CONNECT_KEY = "connect"
UNSET_ID = 4294967295  # (uid_t)-1: auid and ses of processes outside any login session
MAX_PROCTITLE_BYTES = 128  # the kernel cuts the process title here
COMM_BYTES = 15  # TASK_COMM_LEN - 1
SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ash", "ksh"})
LOADER = "/lib64/ld-linux-x86-64.so.2"
SHIM = "/usr/bin/containerd-shim-runc-v2"
RUNC = "/usr/bin/runc"
CONMON = "/usr/bin/conmon"
CRUN = "/usr/bin/crun"
_OUTCOMES = {"attempted": ("no", -115), "established": ("yes", 0), "refused": ("no", -111)}


def encode(value: str) -> str:
    """A string value as the kernel logs it: quoted, or upper-case hex when it must be."""
    data = value.encode("utf-8")
    if any(byte == 0x22 or byte < 0x21 or byte > 0x7E for byte in data):
        return data.hex().upper()
    return f'"{value}"'


def proctitle(args: tuple[str, ...]) -> str:
    """The PROCTITLE value: argv joined by NUL, at most 128 bytes, encoded."""
    data = "\x00".join(args).encode("utf-8")[:MAX_PROCTITLE_BYTES]
    if len(args) == 1 and not any(b == 0x22 or b < 0x21 or b > 0x7E for b in data):
        return f'"{data.decode("utf-8", "replace")}"'
    return data.hex().upper()


def sockaddr(ip: str, port: int) -> str:
    """Hex of ``struct sockaddr_in`` (16 bytes) or ``sockaddr_in6`` (28 bytes)."""
    if ":" in ip:
        address = ipaddress.IPv6Address(ip).packed
        return ("0A00" + f"{port:04X}" + "00000000" + address.hex().upper() + "00000000").upper()
    octets = "".join(f"{int(part):02X}" for part in ip.split("."))
    return "0200" + f"{port:04X}" + octets + "0000000000000000"


@dataclass
class _Session:
    """Login session of an interactive user on a host: its id and terminal."""

    ses: int
    tty: str


class _Writer:
    """State of one output: generator, serials per host, sessions, inode numbers."""

    def __init__(self, scenario: ScenarioLike) -> None:
        self.seed = scenario.seed
        self.random: random.Random = seeded_random(scenario, FORMAT)
        self.serials: dict[str, int] = {}
        self.sessions: dict[tuple[str, int], _Session] = {}
        self.steps = scenario.steps

    # ---- record pieces ----
    def _stamp(self, host: Host, when: datetime) -> str:
        serial = self.serials.get(host.name, 18000 + self.random.randrange(60000))
        self.serials[host.name] = serial + 1 + self.random.randrange(12)
        seconds = epoch_seconds(when)
        return f"{seconds}.{when.microsecond // 1000:03d}:{serial}"

    def _pointer(self) -> str:
        return f"{0x55D0_0000_0000 + self.random.randrange(0x10_0000_0000):x}"

    def _inode(self, path: str) -> int:
        return 1_000_000 + int.from_bytes(digest(self.seed, path)[:4], "big") % 40_000_000

    def _identity(self, host: Host, process: Process) -> str:
        """``auid=... uid=... ... tty=... ses=...`` of a process."""
        uid = process.uid
        interactive = process.container is None and process.parent_name in SHELLS
        if interactive:
            session = self.sessions.get((host.name, uid))
            if session is None:
                session = _Session(ses=2 + self.random.randrange(40), tty="pts0")
                self.sessions[(host.name, uid)] = session
            auid, ses, tty = uid, session.ses, session.tty
        else:
            auid, ses, tty = UNSET_ID, UNSET_ID, "(none)"
        ids = " ".join(f"{name}={uid}" for name in ("uid", "gid", "euid", "suid", "fsuid"))
        gids = " ".join(f"{name}={uid}" for name in ("egid", "sgid", "fsgid"))
        return f"auid={auid} {ids} {gids} tty={tty} ses={ses}"

    @staticmethod
    def _comm(process: Process) -> str:
        return encode(process.name.encode("utf-8")[:COMM_BYTES].decode("utf-8", "ignore"))

    def _header(self, host: Host, rtype: str, stamp: str) -> str:
        return f"node={host.name} type={rtype} msg=audit({stamp}):"

    # ---- events ----
    def execve(self, host: Host, when: datetime, process: Process) -> list[str]:
        """Records of the execve event that started ``process``."""
        stamp = self._stamp(host, when)

        def head(rtype: str) -> str:
            return self._header(host, rtype, stamp)

        syscall = (
            f"{head('SYSCALL')} arch={ARCH_X86_64} syscall={SYSCALL_EXECVE} success=yes exit=0 "
            f"a0={self._pointer()} a1={self._pointer()} a2={self._pointer()} "
            f"a3={self.random.randrange(1, 0x40):x} items=2 ppid={process.ppid} "
            f"pid={process.pid} {self._identity(host, process)} comm={self._comm(process)} "
            f"exe={encode(process.executable)} key={encode(EXEC_KEY)}"
        )
        arguments = " ".join(f"a{i}={encode(arg)}" for i, arg in enumerate(process.args))
        device = "00:3e" if process.container is not None else "fd:01"
        paths = [
            f"{head('PATH')} item={item} name={encode(path)} inode={self._inode(path)} "
            f"dev={device} mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 "
            "cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
            for item, path in enumerate((process.executable, LOADER))
        ]
        return [
            syscall,
            f"{head('EXECVE')} argc={len(process.args)} {arguments}",
            f"{head('CWD')} cwd={encode(process.cwd)}",
            *paths,
            f"{head('PROCTITLE')} proctitle={proctitle(process.args)}",
        ]

    def connect(
        self, host: Host, when: datetime, process: Process, ip: str, port: int, outcome: str
    ) -> list[str]:
        """Records of one connect() of ``process`` to ``ip``:``port``."""
        stamp = self._stamp(host, when)
        success, code = _OUTCOMES.get(outcome, _OUTCOMES["attempted"])
        length = 28 if ":" in ip else 16
        syscall = (
            f"{self._header(host, 'SYSCALL', stamp)} arch={ARCH_X86_64} "
            f"syscall={SYSCALL_CONNECT} success={success} exit={code} "
            f"a0={3 + self.random.randrange(12):x} a1={self._pointer()} a2={length:x} a3=0 "
            f"items=0 ppid={process.ppid} pid={process.pid} {self._identity(host, process)} "
            f"comm={self._comm(process)} exe={encode(process.executable)} "
            f"key={encode(CONNECT_KEY)}"
        )
        return [
            syscall,
            f"{self._header(host, 'SOCKADDR', stamp)} saddr={sockaddr(ip, port)}",
            f"{self._header(host, 'PROCTITLE', stamp)} proctitle={proctitle(process.args)}",
        ]

    def container_start(self, step: ContainerStart) -> list[str]:
        """The runtime's execs for a container start: the shim (or conmon), then runc create."""
        container = step.container
        shim_pid, shim_exe = self._runtime_parent(step)
        namespace = "k8s.io" if container.runtime == "containerd" else "moby"
        bundle = f"/run/containerd/io.containerd.runtime.v2.task/{namespace}/{container.id}"
        if container.runtime == "podman":
            shim_args: tuple[str, ...] = (
                CONMON,
                "--api-version",
                "1",
                "-c",
                container.id,
                "-u",
                container.id,
                "-n",
                container.name,
            )
            runtime_args: tuple[str, ...] = (CRUN, "create", "--bundle", bundle, container.id)
            runtime_exe = CRUN
        else:
            shim_args = (
                shim_exe,
                "-namespace",
                namespace,
                "-id",
                container.id,
                "-address",
                "/run/containerd/containerd.sock",
            )
            runtime_exe = RUNC
            runtime_args = (
                "runc",
                "--root",
                f"/var/run/docker/runtime-runc/{namespace}",
                "--log",
                f"{bundle}/log.json",
                "--log-format",
                "json",
                "create",
                "--bundle",
                bundle,
                "--pid-file",
                f"{bundle}/init.pid",
                container.id,
            )
        shim = Process(
            pid=shim_pid,
            ppid=1,
            executable=shim_exe,
            args=shim_args,
            parent_executable="/usr/lib/systemd/systemd",
            cwd=bundle,
        )
        runtime = Process(
            pid=shim_pid + 9 + self.random.randrange(6),
            ppid=shim_pid,
            executable=runtime_exe,
            args=runtime_args,
            parent_executable=shim_exe,
            cwd=bundle,
        )
        return [
            *self.execve(step.host, step.time, shim),
            *self.execve(step.host, step.time + timedelta(milliseconds=4), runtime),
        ]

    def _runtime_parent(self, step: ContainerStart) -> tuple[int, str]:
        """Pid and program of the container's runtime parent, as its first process names it."""
        for later in self._later_processes(step.host, step.container):
            return later.ppid, later.parent_executable
        default = CONMON if step.container.runtime == "podman" else SHIM
        return 20000 + self.random.randrange(40000), default

    def _later_processes(self, host: Host, container: Container) -> Iterator[Process]:
        for other in self.steps:
            if (
                isinstance(other, ProcessStart)
                and other.host.name == host.name
                and other.process.container is not None
                and other.process.container.id == container.id
            ):
                yield other.process


def _records(writer: _Writer, step: Step) -> list[str]:
    """Every record auditd writes for one step (none for what it never sees)."""
    if step.host.os != "linux":
        return []
    if isinstance(step, ProcessStart):
        return writer.execve(step.host, step.time, step.process)
    if isinstance(step, Connection):
        return writer.connect(
            step.host,
            step.time,
            step.process,
            step.destination_ip,
            step.destination_port,
            step.outcome,
        )
    if isinstance(step, DnsLookup):
        return writer.connect(
            step.host, step.time, step.process, step.resolver_ip, 53, "established"
        )
    if isinstance(step, ContainerStart):
        return writer.container_start(step)
    return []


def write(scenario: ScenarioLike) -> str:
    """The audit.log text of the scenario's Linux steps."""
    writer = _Writer(scenario)
    records: list[str] = []
    for step in scenario.steps:
        records.extend(_records(writer, step))
    return lines(records)
