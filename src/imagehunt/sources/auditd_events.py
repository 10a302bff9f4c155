"""One assembled auditd event (all records of one ``msg=audit(...)`` id) to a normalized row.

execve events become process starts, connect events to an inet or inet6 address become
network connections; every other event only teaches the process table who a pid is.
"""

from __future__ import annotations

import re
from typing import Any

from imagehunt.sources import auditd_fields as af
from imagehunt.sources.auditd_context import (
    ContainerTie,
    ProcessInfo,
    ProcessTable,
    parent_tie,
    rootfs_tie,
)

MODULE = "auditd"

SYSCALL = b"SYSCALL"
EXECVE = b"EXECVE"
PROCTITLE = b"PROCTITLE"
CWD = b"CWD"
SOCKADDR = b"SOCKADDR"
CONTAINER_ID = b"CONTAINER_ID"
KEPT_TYPES = frozenset((SYSCALL, EXECVE, PROCTITLE, CWD, SOCKADDR, CONTAINER_ID))

X86_64, I386, AARCH64, ARM = b"c000003e", b"40000003", b"c00000b7", b"40000028"
EXEC_SYSCALLS: dict[bytes, frozenset[bytes]] = {
    X86_64: frozenset((b"59", b"322")),
    I386: frozenset((b"11", b"358")),
    AARCH64: frozenset((b"221", b"281")),
    ARM: frozenset((b"11", b"387")),
}
CONNECT_SYSCALLS: dict[bytes, frozenset[bytes]] = {
    X86_64: frozenset((b"42",)),
    I386: frozenset((b"362",)),
    AARCH64: frozenset((b"203",)),
    ARM: frozenset((b"283",)),
}
I386_SOCKETCALL = b"102"
SOCKETCALL_CONNECT = b"3"
_CANDIDATES = frozenset(
    (
        I386_SOCKETCALL,
        *(n for table in (EXEC_SYSCALLS, CONNECT_SYSCALLS) for v in table.values() for n in v),
    )
)
EXEC_NAMES = frozenset((b"execve", b"execveat"))
EINPROGRESS = b"-115"


class Event:
    """Records of one event as they arrive: the first line and the bodies that matter."""

    __slots__ = ("done", "line", "node", "records", "size", "stamp")

    def __init__(self, line: int, node: bytes | None, stamp: bytes) -> None:
        self.line = line
        self.node = node
        self.stamp = stamp
        self.records: list[tuple[bytes, bytes]] = []
        self.done = False  # its EOE record was read
        self.size = 0  # bytes of the records kept

    def bodies(self, rtype: bytes) -> list[bytes]:
        """Bodies of every record of type ``rtype``, in arrival order."""
        return [body for kind, body in self.records if kind == rtype]

    def first(self, rtype: bytes) -> bytes | None:
        """Body of the first record of type ``rtype``."""
        for kind, body in self.records:
            if kind == rtype:
                return body
        return None


def token(body: bytes, key: bytes) -> bytes | None:
    """Value of `` key=`` in a record body (``key`` must include the leading space and ``=``)."""
    start = body.find(key)
    if start < 0:
        return None
    start += len(key)
    end = body.find(b" ", start)
    return body[start:] if end < 0 else body[start:end]


_SYSCALL_FIELDS = re.compile(rb" (arch|syscall|success|exit|a0|pid|ppid|uid|comm|exe)=([^ \x1d]*)")


def syscall_values(body: bytes) -> dict[bytes, bytes]:
    """The SYSCALL fields the rows use, by name (the first occurrence of each wins)."""
    return dict(reversed(_SYSCALL_FIELDS.findall(b" " + af.raw_part(body))))


def syscall_kind(values: dict[bytes, bytes], body: bytes) -> str | None:
    """ "exec", "connect" or None from a SYSCALL's arch and number (or its enriched name)."""
    arch = values.get(b"arch", b"").lower()
    number = values.get(b"syscall")
    if number in EXEC_SYSCALLS.get(arch, ()):
        return "exec"
    if number in CONNECT_SYSCALLS.get(arch, ()):
        return "connect"
    if arch == I386 and number == I386_SOCKETCALL:
        return "connect" if values.get(b"a0") == SOCKETCALL_CONNECT else None
    if b"\x1d" in body:
        name = af.enriched_fields(body).get(b"SYSCALL")
        if name in EXEC_NAMES:
            return "exec"
        if name == b"connect":
            return "connect"
    return None


class EventMapper:
    """Turns assembled events of one file into rows, remembering pids along the way."""

    def __init__(self) -> None:
        self.processes = ProcessTable()

    def row(self, event: Event) -> dict[str, Any] | None:
        """Normalized values of an event, or None when it is neither an exec nor a connect."""
        syscall = event.first(SYSCALL)
        if syscall is None:
            if event.first(EXECVE) is not None:
                return self._exec_row(event, {}, {})
            return None
        if token(syscall, b" syscall=") not in _CANDIDATES and b"\x1d" not in syscall:
            self._learn(syscall)  # cheap path for the many uninteresting syscalls
            return None
        values = syscall_values(syscall)
        kind = syscall_kind(values, syscall)
        if kind is None:
            self._learn(syscall)
            return None
        enriched = af.enriched_fields(syscall)
        if kind == "exec":
            return self._exec_row(event, values, enriched)
        return self._connect_row(event, values, enriched)

    def _learn(self, syscall: bytes) -> None:
        pid = af.number(token(syscall, b" pid="))
        if pid is None or self.processes.knows(pid):
            return
        raw = af.raw_part(syscall)
        executable = af.text(token(raw, b" exe="))
        name = af.basename(executable) if executable else af.text(token(raw, b" comm="))
        self.processes.remember(pid, ProcessInfo(name, executable, None))

    def _common(
        self, event: Event, values: dict[bytes, bytes], enriched: dict[bytes, bytes]
    ) -> dict[str, Any]:
        when, _colon, serial = event.stamp.partition(b":")
        seconds, _dot, millis = when.partition(b".")
        row: dict[str, Any] = {
            "@timestamp": int(seconds) * 1000 + int(millis[:3].ljust(3, b"0")),
            "event.id": serial.decode("ascii"),
            "event.module": MODULE,
        }
        if event.node is not None:
            row["host.name"] = event.node.decode("utf-8", "replace")
        success = values.get(b"success")
        if success is not None:
            row["event.outcome"] = "success" if success == b"yes" else "failure"
        uid = values.get(b"uid")
        if uid is not None:
            row["user.id"] = uid.decode("ascii", "replace")
        user = enriched.get(b"UID")
        if user:
            row["user.name"] = user.decode("utf-8", "replace")
        return row

    def _exec_row(
        self, event: Event, values: dict[bytes, bytes], enriched: dict[bytes, bytes]
    ) -> dict[str, Any]:
        row = self._common(event, values, enriched)
        executable = af.text(values.get(b"exe"))
        args = af.execve_args(event.bodies(EXECVE))
        if args is None:
            title = event.first(PROCTITLE)
            args = af.proctitle_args(token(b" " + title, b" proctitle=") or b"") if title else None
        command_line = " ".join(args) if args else None
        name = af.basename(executable) if executable else None
        if name is None and args:
            name = af.basename(args[0])
        cwd_body = event.first(CWD)
        cwd = af.text(token(b" " + cwd_body, b" cwd=")) if cwd_body else None
        row.update(
            {
                "event.category": ["process"],
                "event.type": ["start"],
                "event.action": "executed",
                "process.name": name,
                "process.executable": executable,
                "process.args": args,
                "process.command_line": command_line,
                "process.working_directory": cwd,
            }
        )
        pid, tie = self._process_fields(row, event, values, (executable, cwd))
        if pid is not None:
            info = ProcessInfo(
                name,
                executable,
                command_line,
                tie.evidence if tie else None,
                tie.container_id if tie else None,
            )
            self.processes.remember(pid, info)
        return row

    def _connect_row(
        self, event: Event, values: dict[bytes, bytes], enriched: dict[bytes, bytes]
    ) -> dict[str, Any] | None:
        saddr_body = event.first(SOCKADDR)
        saddr = token(b" " + af.raw_part(saddr_body), b" saddr=") if saddr_body else None
        address = af.socket_address(saddr) if saddr else None
        if address is None:
            return None
        row = self._common(event, values, enriched)
        if values.get(b"exit") == EINPROGRESS:
            row["event.outcome"] = "unknown"
        executable = af.text(values.get(b"exe"))
        name = af.basename(executable) if executable else af.text(values.get(b"comm"))
        row.update(
            {
                "event.category": ["network"],
                "event.type": ["connection", "start"],
                "event.action": "connected-to",
                "destination.ip": address.ip,
                "destination.port": address.port,
                "process.name": name,
                "process.executable": executable,
            }
        )
        known = self.processes.get(af.number(values.get(b"pid")))
        if known is not None and known.command_line:
            row["process.command_line"] = known.command_line
        self._process_fields(row, event, values, (executable,))
        return row

    def _process_fields(
        self,
        row: dict[str, Any],
        event: Event,
        values: dict[bytes, bytes],
        paths: tuple[str | None, ...],
    ) -> tuple[int | None, ContainerTie | None]:
        """Fill pid, parent and container fields; return the pid and the container tie."""
        pid = af.number(values.get(b"pid"))
        ppid = af.number(values.get(b"ppid"))
        row["process.pid"] = pid
        row["process.parent.pid"] = ppid
        parent = self.processes.get(ppid)
        if parent is not None:
            row["process.parent.name"] = parent.name
            row["process.parent.executable"] = parent.executable
            row["process.parent.command_line"] = parent.command_line
        tie = self._container_tie(event, parent, paths)
        if tie is not None:
            row["labels.container_evidence"] = tie.evidence
            row["container.id"] = tie.container_id
        return pid, tie

    @staticmethod
    def _container_tie(
        event: Event, parent: ProcessInfo | None, paths: tuple[str | None, ...]
    ) -> ContainerTie | None:
        record = event.first(CONTAINER_ID)
        if record is not None:
            contid = token(b" " + record, b" contid=")
            if contid:
                return ContainerTie("contid", contid.decode("ascii", "replace"))
        for path in paths:
            tie = rootfs_tie(path)
            if tie is not None:
                return tie
        return parent_tie(parent)
