"""auditd raw log writer: accepted by ausearch, read back by the auditd reader, deterministic."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from imagehunt.emulate.formats import auditd
from imagehunt.emulate.steps import Connection
from support.emulate_common import Scenario, at, read_back
from support.emulate_steps_hostlogs import (
    CURL,
    POOL_IP,
    QUOTED,
    SHIM,
    WEB,
    XMRIG,
    linux_scenario,
    windows_scenario,
)

AUSEARCH = shutil.which("ausearch") or next(
    (p for p in ("/usr/sbin/ausearch", "/sbin/ausearch") if Path(p).exists()), None
)
_EVENT_ID = re.compile(r"msg=audit\((\d+\.\d{3}:\d+)\)")


def event_ids(text: str) -> list[str]:
    """Distinct msg=audit ids in order of first appearance."""
    return list(dict.fromkeys(_EVENT_ID.findall(text)))


@pytest.mark.skipif(AUSEARCH is None, reason="ausearch (auditd's own parser) is not installed")
def test_ausearch_returns_every_event_written(tmp_path: Path) -> None:
    text = auditd.write(linux_scenario())
    path = tmp_path / "audit.log"
    path.write_text(text, encoding="utf-8")
    assert AUSEARCH is not None
    raw = subprocess.run(
        [AUSEARCH, "-if", str(path), "--format", "raw"],
        capture_output=True,
        text=True,
        check=True,
    )
    # 6 process starts + 2 runtime execs of the container start + 3 connects (one is DNS)
    written = event_ids(text)
    assert len(written) == 11
    assert event_ids(raw.stdout) == written
    assert len(raw.stdout.splitlines()) == len(text.splitlines())
    interpreted = subprocess.run(
        [AUSEARCH, "-if", str(path), "-i"], capture_output=True, text=True, check=True
    ).stdout
    assert interpreted.count("syscall=execve") == 8
    assert interpreted.count("syscall=connect") == 3
    assert f"laddr={POOL_IP} lport=3333" in interpreted
    assert 'proctitle=bash -c echo "deploy done" > /tmp/status' in interpreted


def test_execve_records_follow_the_kernel_encoding() -> None:
    text = auditd.write(linux_scenario())
    quoted = next(line for line in text.splitlines() if f"pid={QUOTED.pid} " in line)
    stamp = _EVENT_ID.search(quoted)
    assert stamp is not None
    records = [line for line in text.splitlines() if stamp.group(0) in line]
    assert [r.split(" type=")[1].split(" ")[0] for r in records] == [
        "SYSCALL", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE",
    ]  # fmt: skip
    assert "arch=c000003e syscall=59 success=yes exit=0" in records[0]
    assert 'comm="bash" exe="/usr/bin/bash" key="exec"' in records[0]
    # an argument with spaces and quotes is hex; the others are quoted
    hexed = b'echo "deploy done" > /tmp/status'.hex().upper()
    assert records[1].endswith(f'argc=3 a0="bash" a1="-c" a2={hexed}')
    assert records[-1].endswith("proctitle=" + "\x00".join(QUOTED.args).encode().hex().upper())
    assert all(r.startswith("node=web-01 type=") for r in records)


def test_serials_increase_and_records_share_their_event() -> None:
    ids = event_ids(auditd.write(linux_scenario()))
    serials = [int(i.split(":")[1]) for i in ids]
    assert serials == sorted(serials)
    assert len(set(serials)) == len(serials)


def test_sockaddr_hex_of_ipv4_and_ipv6() -> None:
    assert auditd.sockaddr("51.15.69.136", 3333) == "02000D05330F45880000000000000000"
    six = auditd.sockaddr("2001:db8::1", 443)
    assert six.startswith("0A0001BB00000000" + "20010DB8")
    assert len(six) == 56


def test_read_back_gives_exact_fields(tmp_path: Path) -> None:
    rows, problems = read_back(tmp_path / "audit.log", auditd.write(linux_scenario()), "auditd")
    assert problems.count == 0
    assert len(rows) == 11
    curl = rows[0]
    assert (curl["process.name"], curl["process.pid"], curl["process.parent.pid"]) == (
        "curl", CURL.pid, CURL.ppid,
    )  # fmt: skip
    assert curl["process.args"] == list(CURL.args)
    assert curl["process.working_directory"] == "/home/deploy"
    assert (curl["host.name"], curl["user.id"]) == ("web-01", "1001")
    assert curl["@timestamp"].isoformat() == "2026-11-20T09:14:07.412000+00:00"
    dns = rows[1]
    assert (dns["destination.ip"], dns["destination.port"]) == ("10.20.0.2", 53)
    miner = next(r for r in rows if r["process.name"] == "xmrig")
    assert miner["process.args"] == list(XMRIG.args)
    assert miner["process.executable"] == "/usr/local/bin/xmrig"
    assert miner["process.parent.name"] == "containerd-shim-runc-v2"
    assert miner["process.parent.executable"] == SHIM
    assert miner["labels.container_evidence"] == "parent:containerd-shim-runc-v2"
    pool = next(r for r in rows if r.get("destination.ip") == POOL_IP)
    assert pool["destination.port"] == 3333
    assert pool["event.outcome"] == "unknown"  # non-blocking connect: EINPROGRESS
    assert pool["process.command_line"] == miner["process.command_line"]
    assert pool["labels.container_evidence"] == "parent:containerd-shim-runc-v2"
    quoted = next(r for r in rows if r["process.pid"] == QUOTED.pid)
    assert quoted["process.args"] == list(QUOTED.args)


def test_ipv6_connection_reads_back(tmp_path: Path) -> None:
    step = Connection(
        time=at(1), host=WEB, attack=False, process=CURL, source_ip="2001:db8::11",
        source_port=40000, destination_ip="2606:4700::6810:84e5", destination_port=443,
        outcome="established",
    )  # fmt: skip
    rows, problems = read_back(
        tmp_path / "six.log", auditd.write(Scenario(seed=1, steps=(step,))), "auditd"
    )
    assert problems.count == 0
    assert (rows[0]["destination.ip"], rows[0]["destination.port"]) == (
        "2606:4700::6810:84e5", 443,
    )  # fmt: skip
    assert rows[0]["event.outcome"] == "success"


def test_windows_steps_are_not_written() -> None:
    assert auditd.write(windows_scenario()) == ""


def test_proctitle_is_cut_at_128_bytes() -> None:
    long_args = ("python3", "-c", "x" * 300)
    value = auditd.proctitle(long_args)
    assert len(bytes.fromhex(value)) == 128


def test_deterministic_per_seed() -> None:
    first = auditd.write(linux_scenario(seed=7))
    assert first == auditd.write(linux_scenario(seed=7))
    other = auditd.write(linux_scenario(seed=8))
    assert event_ids(first) != event_ids(other)
    assert len(event_ids(other)) == len(event_ids(first))


def test_container_start_without_a_process_still_writes_the_runtime() -> None:
    scenario = linux_scenario()
    only_start = tuple(s for s in scenario.steps if type(s).__name__ == "ContainerStart")
    text = auditd.write(replace(scenario, steps=only_start))
    assert text.count("syscall=59") == 2
    assert 'exe="/usr/bin/containerd-shim-runc-v2"' in text
    assert 'exe="/usr/bin/runc"' in text


@pytest.mark.skipif(AUSEARCH is None, reason="ausearch (auditd's own parser) is not installed")
@pytest.mark.parametrize("test", [None, 1, 2, 3, 5])
def test_ausearch_accepts_every_atomic_test_emulation(test: int | None, tmp_path: Path) -> None:
    from imagehunt.validate.matrix import render

    _, text = render(test, "auditd", seed=3)
    path = tmp_path / "audit.log"
    path.write_text(text, encoding="utf-8")
    assert AUSEARCH is not None
    raw = subprocess.run(
        [AUSEARCH, "-if", str(path), "--format", "raw"], capture_output=True, text=True
    )
    assert raw.returncode == 0, raw.stderr
    assert event_ids(raw.stdout) == event_ids(text)
