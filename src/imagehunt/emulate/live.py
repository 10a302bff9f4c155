"""``emulate N --live``: perform a test for real, harmlessly, and capture it with auditd.

What it changes on the host, all undone on exit (also on failure or Ctrl-C):

* a throw-away user without a home, and auditd rules (execve, connect) scoped to its uid;
* a temp folder with copies of ``/bin/true`` named like the tools of the test (``xmrig``,
  ``wget``, ``curl``) and a copy of ``/bin/sh`` named ``containerd-shim-runc-v2`` standing
  in for the container runtime: nothing malicious ever runs;
* a private network namespace whose loopback carries the test's pool and exfiltration
  addresses, with a listener standing in for them: connections never leave the host, yet
  auditd records the public address the real test would reach. Without ``ip netns`` the
  listener is on 127.0.0.1 and the report says the pool connection cannot fire;
* auditd itself, started only if it was not running (and stopped again).

Refuses, with the reason, without Linux, root, auditd or a kernel that lets us audit.
"""

from __future__ import annotations

import os
import platform
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from imagehunt.emulate.scenario import build
from imagehunt.emulate.steps import Connection, ProcessStart, Step
from imagehunt.errors import UsageError

KEY = "imagehunt-live"
AUDIT_LOG = Path("/var/log/audit/audit.log")
LIVE_TESTS = (1, 2, 3, 5)
_LISTENER = (
    "import socket,sys\n"
    "socks=[]\n"
    "for a in sys.argv[1:]:\n"
    "    h,p=a.rsplit(':',1); s=socket.socket(); "
    "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind((h,int(p))); s.listen(8); "
    "socks.append(s)\n"
    "print('ready',flush=True)\n"
    "import time\n"
    "time.sleep(120)\n"
)
_AUDIT_TIME = re.compile(r"msg=audit\((\d+\.\d+):")
_PROBE = "import socket,sys; socket.socket().connect_ex((sys.argv[1], int(sys.argv[2])))"


class LiveUnavailable(UsageError):
    """This host cannot run the live mode; the message says why."""


def _run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


def audit_status() -> dict[str, str]:
    """``auditctl -s`` as a dict (empty when the kernel refuses)."""
    done = _run("auditctl", "-s")
    if done.returncode != 0:
        return {}
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def check_host() -> None:
    """Raise LiveUnavailable unless this host can run a live test."""
    if platform.system() != "Linux":
        raise LiveUnavailable("live mode needs Linux (it captures with auditd)")
    if os.geteuid() != 0:
        raise LiveUnavailable("live mode needs root (it adds a user and audit rules)")
    for tool in ("auditctl", "auditd", "useradd", "userdel", "ausearch"):
        if shutil.which(tool) is None:
            raise LiveUnavailable(
                f"{tool} is not installed (Debian/Ubuntu: apt-get install auditd)"
            )
    done = _run("auditctl", "-s")
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip()
        raise LiveUnavailable(
            f"the kernel audit subsystem is unavailable (no CAP_AUDIT_CONTROL?): {reason}"
        )


def _daemon_pid() -> int:
    found = re.fullmatch(r"\d+", audit_status().get("pid", "0").strip())
    return int(found.group()) if found else 0


@dataclass
class LiveAudit:
    """One live session: what it set up, and therefore what it must undo."""

    user: str = field(default_factory=lambda: f"ihlive{secrets.token_hex(3)}")
    uid: int = -1
    workdir: Path = Path()
    started_pid: int = 0
    was_enabled: str = "1"
    rules: list[list[str]] = field(default_factory=list)
    netns: str = ""
    listener: subprocess.Popen[str] | None = None
    started_at: float = field(default_factory=time.time)

    def start_daemon(self) -> None:
        """Make sure auditd runs; remember its pid when this session started it."""
        self.was_enabled = audit_status().get("enabled", "1").strip()
        if _daemon_pid():
            return
        if shutil.which("service"):
            _run("service", "auditd", "start")
        if not _daemon_pid():
            _run("auditd")
        for _ in range(50):
            if _daemon_pid():
                break
            time.sleep(0.1)
        self.started_pid = _daemon_pid()
        if not self.started_pid:
            raise LiveUnavailable("auditd could not be started on this host")

    def add_user(self) -> None:
        """A throw-away user without a home; its uid scopes the rules."""
        _run("useradd", "-M", "-s", "/usr/sbin/nologin", self.user, check=True)
        self.uid = pwd.getpwnam(self.user).pw_uid

    def add_rules(self) -> None:
        """execve and connect rules for the throw-away user only."""
        for syscall in ("execve", "connect"):
            rule = ["-F", "arch=b64", "-S", syscall, "-F", f"uid={self.uid}", "-k", KEY]
            _run("auditctl", "-a", "always,exit", *rule, check=True)
            self.rules.append(rule)

    def add_network(self, endpoints: Sequence[tuple[str, int]]) -> bool:
        """A private netns whose loopback holds ``endpoints``, with a listener on each.

        Returns False (and listens on 127.0.0.1 instead) when namespaces are unavailable.
        """
        name = f"ihlive{secrets.token_hex(3)}"
        if shutil.which("ip") and _run("ip", "netns", "add", name).returncode == 0:
            self.netns = name
            _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
            for address in {a for a, _ in endpoints}:
                _run("ip", "netns", "exec", name, "ip", "addr", "add", f"{address}/32", "dev", "lo")
            bound = endpoints
        else:
            bound = [("127.0.0.1", port) for _, port in endpoints]
        spec = [f"{a}:{p}" for a, p in bound]
        self.listener = subprocess.Popen(
            [*self._in_netns(), sys.executable, "-c", _LISTENER, *spec],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if self.listener.stdout is not None:
            self.listener.stdout.readline()
        return bool(self.netns)

    def _in_netns(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns] if self.netns else []

    def run_as_user(self, *command: str) -> None:
        """Run a command as the throw-away user, in the session's netns if any."""
        if shutil.which("runuser"):
            _run(*self._in_netns(), "runuser", "-u", self.user, "--", *command)
        else:
            _run(*self._in_netns(), "su", "-s", "/bin/sh", "-c", " ".join(command), self.user)

    def tool(self, name: str, original: str = "/bin/true") -> Path:
        """A copy of ``original`` named ``name`` in the work folder."""
        path = self.workdir / name
        shutil.copy(original, path)
        path.chmod(0o755)
        return path

    def connect(self, address: str, port: int) -> None:
        """A connect() to address:port by the throw-away user (the listener answers)."""
        python = shutil.which("python3") or sys.executable  # the venv may be out of its reach
        self.run_as_user(python, "-c", _PROBE, address, str(port))

    def collect(self, target: Path, needle: str, timeout: float = 15.0) -> Path:
        """Raw records of this session's key, once ``needle`` shows up, written to ``target``."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self._records()
            if needle in text:
                break
            time.sleep(0.3)
        target.write_text(text, encoding="utf-8")
        return target

    def _records(self) -> str:
        """This session's records: the key's, from its uid, since it started.

        The audit log keeps earlier sessions' records under the same key, and a uid is
        reused once its user is deleted, so the time decides.
        """
        done = _run("ausearch", "-k", KEY, "-ui", str(self.uid), "--raw")
        if done.returncode != 0:
            return ""
        kept = []
        # split on newlines only: enriched records carry a \x1d before their enrichment
        for line in done.stdout.split("\n"):
            stamp = _AUDIT_TIME.search(line)
            if stamp is not None and float(stamp.group(1)) >= self.started_at - 1:
                kept.append(line + "\n")
        return "".join(kept)

    def cleanup(self) -> None:
        """Undo everything this session did, ignoring what was already gone."""
        if self.listener is not None:
            self.listener.kill()
            with suppress(subprocess.TimeoutExpired):
                self.listener.wait(timeout=5)
        if self.netns:
            _run("ip", "netns", "del", self.netns)
        for rule in self.rules:
            _run("auditctl", "-d", "always,exit", *rule)
        if self.uid >= 0:
            _run("userdel", "-f", self.user)
        if self.workdir != Path() and self.workdir.is_dir():
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.started_pid:
            with suppress(ProcessLookupError):
                os.kill(self.started_pid, signal.SIGTERM)
            for _ in range(50):
                if not _daemon_pid():
                    break
                time.sleep(0.1)
        if self.was_enabled == "0":
            _run("auditctl", "-e", "0")


@contextmanager
def live_audit() -> Iterator[LiveAudit]:
    """A running auditd, a throw-away user with scoped rules and a world-readable workdir."""
    check_host()
    session = LiveAudit()
    try:
        session.start_daemon()
        session.workdir = Path(tempfile.mkdtemp(prefix="imagehunt-live-", dir="/tmp"))
        session.workdir.chmod(0o755)
        session.add_user()
        session.add_rules()
        yield session
    finally:
        session.cleanup()


@dataclass(frozen=True)
class LiveCapture:
    """The audit log of one live test and how faithful it could be."""

    log: Path
    public_addresses: bool  # False: no netns, pool/exfil stood in on 127.0.0.1


def _in_shim(session: LiveAudit, *command: str) -> None:
    """Run ``command`` as a child of a shell named like the container runtime's shim."""
    shim = session.tool("containerd-shim-runc-v2", "/bin/sh")
    quoted = " ".join("'" + part.replace("'", "'\\''") + "'" for part in command)
    session.run_as_user(str(shim), "-c", f"{quoted}; true")


def perform(test: int, target: Path) -> LiveCapture:
    """Perform test ``test`` (1, 2, 3 or 5) harmlessly and write its audit records to target.

    The commands and endpoints are the attack steps of the test's emulation (seed 0), so the
    live capture and the generated auditd log describe the same attack.
    """
    if test not in LIVE_TESTS:
        raise UsageError(
            f"test {test} has no live form", hint="test 4 is a cloud API call; use emulate 4"
        )
    attack = build(test, "auditd", 0).attack_steps
    starts = [s.process for s in attack if isinstance(s, ProcessStart)]
    endpoints = [
        (s.destination_ip, s.destination_port) for s in attack if isinstance(s, Connection)
    ]
    with live_audit() as session:
        public = session.add_network(endpoints)
        needle = ""
        for process in starts:
            real = shutil.which(process.name) if process.name == "curl" else None
            if process.container is None and real is not None:
                # the real curl: it resolves the pool's name to the stand-in, never by DNS
                resolve = [
                    f"{name}:{port}:{ip if public else '127.0.0.1'}"
                    for ip, port, name in _named_endpoints(attack)
                ]
                flags = [arg for spec in resolve for arg in ("--resolve", spec)]
                session.run_as_user(real, *flags, *process.args[1:])
                needle = real
                continue
            tool = session.tool(process.name)
            if process.parent_name.startswith("containerd-shim"):
                _in_shim(session, str(tool), *process.args[1:])
            else:
                session.run_as_user(str(tool), *process.args[1:])
            needle = str(tool)
        for address, port in endpoints:
            session.connect(address if public or address == "127.0.0.1" else "127.0.0.1", port)
        session.collect(target, needle or "type=SOCKADDR")
    return LiveCapture(target, public)


def _named_endpoints(attack: Sequence[Step]) -> list[tuple[str, int, str]]:
    return [
        (s.destination_ip, s.destination_port, s.destination_name)
        for s in attack
        if isinstance(s, Connection) and s.destination_name
    ]
