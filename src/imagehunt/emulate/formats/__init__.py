"""Writers of emulated telemetry, one module per producer format.

Each module has ``FORMAT`` (the format name ``sources/sniff.py`` uses) and
``write(scenario) -> str``: the complete file text a real producer would have written for the
scenario's steps. This package holds what the writers share: the scenario they read, the
seeded random generator, and ids derived from step contents, so the output is deterministic.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from imagehunt.emulate.steps import ContainerStart, Host, Process, Step


class ScenarioLike(Protocol):
    """What a writer reads of a scenario: its seed and its time-ordered steps."""

    @property
    def seed(self) -> int: ...

    @property
    def steps(self) -> tuple[Step, ...]: ...


def seeded_random(scenario: ScenarioLike, fmt: str) -> random.Random:
    """The writer's own generator: ``Random("<seed>:<format>")``, never the global one."""
    return random.Random(f"{scenario.seed}:{fmt}")


def digest(*parts: object) -> bytes:
    """SHA-256 of the parts' text, joined by NUL (the base of every derived id)."""
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode("utf-8")).digest()


def derived_uuid(*parts: object) -> str:
    """A version-4-shaped UUID derived from the parts (same parts, same UUID)."""
    return str(uuid.UUID(bytes=digest(*parts)[:16], version=4))


ProcessKey = tuple[str, int, str]


def process_key(host: Host, pid: int, executable: str) -> ProcessKey:
    """What identifies one process image on a host: the pid and the executable it runs."""
    return (host.name, pid, executable)


class ProcessIds:
    """Stable ids of the processes of one output: the step's ``guid`` when it gives one, else
    a UUID derived from the seed, the format, the host, the pid and the executable; a parent
    gets the same id as the parent's own events."""

    def __init__(self, scenario: ScenarioLike, fmt: str) -> None:
        self.seed = scenario.seed
        self.fmt = fmt
        self.given: dict[ProcessKey, str] = {}
        for step in scenario.steps:
            process = getattr(step, "process", None)
            if isinstance(process, Process) and process.guid:
                key = process_key(step.host, process.pid, process.executable)
                self.given[key] = process.guid.strip("{}")

    def of(self, host: Host, pid: int, executable: str) -> str:
        """Id of the process ``pid`` running ``executable`` on ``host``."""
        key = process_key(host, pid, executable)
        found = self.given.get(key)
        return found if found is not None else derived_uuid(self.seed, self.fmt, *key)

    def own(self, host: Host, process: Process) -> str:
        """Id of ``process`` itself."""
        return self.of(host, process.pid, process.executable)

    def parent(self, host: Host, process: Process) -> str:
        """Id of the parent of ``process``."""
        return self.of(host, process.ppid, process.parent_executable)


def iso_millis(when: datetime) -> str:
    """``2026-11-20T10:00:00.123Z`` (UTC, milliseconds)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def iso_nanos(when: datetime) -> str:
    """``2026-11-20T10:00:00.123456000Z`` (UTC, nanoseconds as Falco writes them)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}000Z"


def epoch_seconds(when: datetime) -> int:
    """Whole seconds since the epoch (the microseconds dropped, never rounded)."""
    return int(when.replace(microsecond=0).timestamp())


def epoch_nanos(when: datetime) -> int:
    """Nanoseconds since the epoch (exact for the datetime's microseconds)."""
    return epoch_seconds(when) * 1_000_000_000 + when.microsecond * 1000


def split_image(reference: str) -> tuple[str, str]:
    """``repo[:tag][@digest]`` -> (repository, tag); the tag is "latest" when none is given."""
    name = reference.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :] or "latest"
    return name, "latest"


def lines(records: list[str]) -> str:
    """The file text: one record per line, each ending with a newline."""
    return "".join(record + "\n" for record in records)


class ExecTracker:
    """Which process starts in containers are execs (``docker exec``, ``kubectl exec``).

    A container's entry command is started by the runtime, and the children of a process
    already seen in the container are its own forks: neither goes through the exec API.
    """

    def __init__(self, steps: Iterable[Step], runtime: str) -> None:
        self.runtime = runtime
        self.entry_commands = {
            s.container.id: s.command for s in steps if isinstance(s, ContainerStart)
        }
        self.container_pids: dict[str, set[int]] = {}

    def is_exec(self, process: Process) -> bool:
        """True for a process an exec API call started; remembers it for its children."""
        container = process.container
        if container is None or container.runtime != self.runtime:
            return False
        pids = self.container_pids.setdefault(container.id, set())
        is_entry = self.entry_commands.get(container.id) == process.args
        is_child = process.ppid in pids
        pids.add(process.pid)
        return not (is_entry or is_child)
