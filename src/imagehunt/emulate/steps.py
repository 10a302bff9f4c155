"""What happens in an emulation, independent of any log format.

A scenario is a time-ordered list of steps: process starts, connections, DNS lookups, image
pulls, container starts and cloud API calls. Each format's writer (``emulate/formats/``)
renders the steps its producer would record, in that producer's own format, and leaves out
the steps it never sees (Zeek sees no process; CloudTrail sees only API calls).

Every step says whether it belongs to the attack (``attack``) or to the benign background,
so validation can tell which alert came from which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def quote_args(args: tuple[str, ...]) -> str:
    """argv joined by spaces, arguments with spaces quoted as a shell would show them."""
    return " ".join(f'"{a}"' if (" " in a and not a.startswith('"')) else a for a in args)


@dataclass(frozen=True)
class Host:
    """A machine: its name, address, operating system and the audit session id base."""

    name: str
    ip: str
    os: str = "linux"  # "linux" or "windows"
    domain: str = ""  # Windows domain (Sysmon's User field), empty on Linux


@dataclass(frozen=True)
class Container:
    """A running container: full 64-hex id, name, image reference, environment."""

    id: str
    name: str
    image: str  # as the user wrote it, e.g. "alpineos/dockerapi:latest"
    env: tuple[str, ...] = ()  # NAME=value
    runtime: str = "docker"  # "docker", "containerd" (Kubernetes) or "podman"

    @property
    def short_id(self) -> str:
        """The 12-character id Docker prints."""
        return self.id[:12]


@dataclass(frozen=True)
class Process:
    """A process as an endpoint sensor sees it at exec time."""

    pid: int
    ppid: int
    executable: str  # absolute path (Windows: C:\\...)
    args: tuple[str, ...]  # argv, args[0] included
    parent_executable: str
    parent_args: tuple[str, ...] = ()
    user: str = "root"
    uid: int = 0
    cwd: str = "/"
    container: Container | None = None
    guid: str = ""  # Sysmon ProcessGuid / Elastic entity id, derived by the writer if empty

    @property
    def name(self) -> str:
        """The executable's base name (``xmrig``, ``powershell.exe``)."""
        return self.executable.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def parent_name(self) -> str:
        """The parent executable's base name."""
        return self.parent_executable.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def command_line(self) -> str:
        """argv joined by spaces, arguments with spaces quoted as a shell would show them."""
        return quote_args(self.args)

    @property
    def parent_command_line(self) -> str:
        """The parent's argv joined like :attr:`command_line` (empty when not known)."""
        return quote_args(self.parent_args)


@dataclass(frozen=True)
class Step:
    """Base of all steps: when, on which host, part of the attack or not."""

    time: datetime
    host: Host
    attack: bool


@dataclass(frozen=True)
class ProcessStart(Step):
    """A process started (execve; Sysmon 1; Elastic Defend process start)."""

    process: Process


@dataclass(frozen=True)
class Connection(Step):
    """An outbound connection attempt from a process."""

    process: Process
    source_ip: str
    source_port: int
    destination_ip: str
    destination_port: int
    transport: str = "tcp"
    destination_name: str = ""  # host name the process asked for, when known
    outcome: str = "attempted"  # "attempted", "established", "refused"


@dataclass(frozen=True)
class DnsLookup(Step):
    """A DNS query by a process (or seen on the wire) and its answers."""

    process: Process
    name: str
    answers: tuple[str, ...]
    resolver_ip: str
    source_port: int
    query_type: str = "A"
    transaction_id: int = 0


@dataclass(frozen=True)
class ImagePull(Step):
    """A container image pulled by a daemon (Docker, containerd via Kubernetes)."""

    image: str  # reference as requested, e.g. "alpineos/dockerapi:latest"
    digest: str = ""  # sha256:<64 hex>


@dataclass(frozen=True)
class ContainerStart(Step):
    """A container created and started from an image, with its entry command."""

    container: Container
    command: tuple[str, ...]
    user: str = "root"  # who asked for it (Kubernetes user, Docker API caller)
    namespace: str = "default"  # Kubernetes namespace
    pod: str = ""  # Kubernetes pod name (empty: plain Docker)


@dataclass(frozen=True)
class CloudCall(Step):
    """One AWS API call as CloudTrail records it (the host is the caller's workstation)."""

    event_name: str
    event_source: str  # e.g. "ec2.amazonaws.com"
    region: str
    account_id: str
    principal_arn: str
    principal_type: str  # "IAMUser", "AssumedRole", "Root"
    access_key_id: str
    source_ip: str
    user_agent: str
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] | None = None
    error_code: str = ""
    error_message: str = ""
    event_id: str = ""
    request_id: str = ""
    read_only: bool = False


STEP_TYPES: tuple[type[Step], ...] = (
    ProcessStart,
    Connection,
    DnsLookup,
    ImagePull,
    ContainerStart,
    CloudCall,
)
