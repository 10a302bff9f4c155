"""What one auditd file teaches about its processes: who a pid is, and container evidence.

auditd names no container, so a process is tied to one by its parent (a container runtime
or a process already tied to one), by its executable or working directory lying under a
container's root filesystem, or by a ``CONTAINER_ID`` record (newer kernels).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import NamedTuple

MAX_KNOWN_PIDS = 262144  # pids remembered per file (least recently used are forgotten)

RUNTIME_NAMES = frozenset(
    (
        "runc",
        "crun",
        "youki",
        "conmon",
        "docker-init",
        "docker-runc",
        "tini",
        "dumb-init",
        "catatonit",
    )
)
RUNTIME_PREFIXES = ("containerd-shim", "docker-containerd-shim")

# (pattern, group of the container id or 0 when the path carries only a layer id)
_ROOTFS_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = (
    (
        re.compile(
            r"^(/(?:run|var/run|var/lib)/containerd/io\.containerd\.runtime\.v[12]\.(?:task|linux)"
            r"/[^/]+/([^/]+)/rootfs)(?:/|$)"
        ),
        2,
    ),
    (re.compile(r"^(/var/lib/docker/overlay2?/[^/]+/merged)(?:/|$)"), 0),
    (re.compile(r"^(/var/lib/docker/(?:aufs/mnt|btrfs/subvolumes|zfs/graph)/[^/]+)(?:/|$)"), 0),
    (
        re.compile(
            r"^(/var/lib/containerd/io\.containerd\.snapshotter\.v1\.[a-z]+/snapshots/[^/]+/fs)"
            r"(?:/|$)"
        ),
        0,
    ),
    (re.compile(r"^(/(?:\S+/)?containers/storage/overlay/[^/]+/merged)(?:/|$)"), 0),
)


class ProcessInfo(NamedTuple):
    """What is known of a pid: its program and how it is tied to a container."""

    name: str | None
    executable: str | None
    command_line: str | None
    evidence: str | None = None
    container_id: str | None = None


class ContainerTie(NamedTuple):
    """Evidence that a process runs in a container, and its id when the evidence names one."""

    evidence: str
    container_id: str | None = None


def is_runtime(name: str | None) -> bool:
    """True when a process name (or executable basename) is a container runtime."""
    if not name:
        return False
    lowered = name.lower()
    return lowered in RUNTIME_NAMES or lowered.startswith(RUNTIME_PREFIXES)


def rootfs_tie(path: str | None) -> ContainerTie | None:
    """Tie from a path under a container root filesystem (executable or working directory)."""
    if not path or not ("/contain" in path or "/docker/" in path):
        return None
    for pattern, id_group in _ROOTFS_PATTERNS:
        found = pattern.match(path)
        if found:
            container_id = found.group(id_group) if id_group else None
            return ContainerTie(f"rootfs:{found.group(1)}", container_id)
    return None


def parent_tie(parent: ProcessInfo | None) -> ContainerTie | None:
    """Tie inherited from the parent: a runtime parent, or a parent already in a container."""
    if parent is None:
        return None
    runtime = parent.name if is_runtime(parent.name) else None
    if runtime is None and parent.executable:
        base = parent.executable.rpartition("/")[2]
        runtime = base if is_runtime(base) else None
    if runtime is not None:
        return ContainerTie(f"parent:{runtime}", parent.container_id)
    if parent.evidence is not None:
        inherited = parent.evidence.removeprefix("ancestor:")
        return ContainerTie(f"ancestor:{inherited}", parent.container_id)
    return None


class ProcessTable:
    """pid -> ProcessInfo learned from earlier events of one file, bounded (LRU)."""

    def __init__(self, limit: int = MAX_KNOWN_PIDS) -> None:
        self.limit = limit
        # OrderedDict, not dict: evicting a dict's first key walks over the slots freed by
        # earlier evictions, which made a full table (262,144 pids) 80x slower per new pid.
        self.known: OrderedDict[int, ProcessInfo] = OrderedDict()

    def get(self, pid: int | None) -> ProcessInfo | None:
        """What is known of ``pid`` (refreshed as recently used)."""
        if pid is None:
            return None
        info = self.known.get(pid)
        if info is not None:
            self.known.move_to_end(pid)
        return info

    def remember(self, pid: int, info: ProcessInfo) -> None:
        """Record what ``pid`` now runs; the least recently used pid goes when full."""
        self.known[pid] = info
        self.known.move_to_end(pid)
        if len(self.known) > self.limit:
            self.known.popitem(last=False)

    def knows(self, pid: int) -> bool:
        """True when something is remembered of ``pid``."""
        return pid in self.known
