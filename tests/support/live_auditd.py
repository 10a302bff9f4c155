"""A real auditd session for the live test: a throw-away user, scoped rules, full cleanup.

Everything it changes (rules, user, files, an auditd it had to start, the audit enabled flag)
is undone on exit, also when the test fails. Skips (never fails) when the host cannot audit.
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
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

KEY = "imagehunt-live"
AUDIT_LOG = Path("/var/log/audit/audit.log")


def _run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


def audit_status() -> dict[str, str]:
    """``auditctl -s`` as a dict (empty when the kernel refuses)."""
    done = _run("auditctl", "-s")
    if done.returncode != 0:
        return {}
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def require_live_host() -> None:
    """Skip unless live tests are asked for and this host can audit."""
    if os.environ.get("IMAGEHUNT_LIVE_TESTS") != "1":
        pytest.skip("live tests run only with IMAGEHUNT_LIVE_TESTS=1")
    if platform.system() != "Linux":
        pytest.skip("auditd is Linux only")
    if os.geteuid() != 0:
        pytest.skip("the live auditd test needs root")
    for tool in ("auditctl", "auditd", "useradd", "userdel"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install auditd)")
    done = _run("auditctl", "-s")
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip()
        pytest.skip(f"kernel audit subsystem unavailable (no CAP_AUDIT_CONTROL?): {reason}")


def _daemon_pid() -> int:
    found = re.fullmatch(r"\d+", audit_status().get("pid", "0").strip())
    return int(found.group()) if found else 0


@dataclass
class LiveAudit:
    """The state of one live session, and what must be undone."""

    user: str = field(default_factory=lambda: f"ihlive{secrets.token_hex(3)}")
    uid: int = -1
    workdir: Path = Path()
    started_pid: int = 0
    was_enabled: str = "1"
    rules: list[list[str]] = field(default_factory=list)

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
            pytest.skip("auditd could not be started on this host")

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

    def run_as_user(self, *command: str) -> None:
        """Run a command as the throw-away user (its exit status does not matter)."""
        if shutil.which("runuser"):
            _run("runuser", "-u", self.user, "--", *command)
        else:
            _run("su", "-s", "/bin/sh", "-c", " ".join(command), self.user)

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
        if shutil.which("ausearch"):
            done = _run("ausearch", "-k", KEY, "--raw")
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout
        if AUDIT_LOG.is_file():
            return AUDIT_LOG.read_text(encoding="utf-8", errors="replace")
        return ""

    def cleanup(self) -> None:
        """Undo everything this session did, ignoring what was already gone."""
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
    require_live_host()
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
