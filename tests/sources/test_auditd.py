"""auditd raw logs: event assembly, decoding, parents, container evidence, rules end to end."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources import auditd
from imagehunt.sources.auditd_context import ProcessInfo, ProcessTable
from imagehunt.sources.auditd_fields import socket_address
from imagehunt.sources.inputs import Input
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.sniff import read_rows, sniff
from support.corpus import corpus_dir

SAMPLES = Path(__file__).parent / "samples" / "auditd"
GS = "\x1d"


# ---- builders of records in auditd's raw format -----------------------------------------------


def encode(value: str) -> str:
    """A string value the way auditd writes it: quoted, or hex when it needs encoding."""
    plain = all(0x21 <= ord(c) <= 0x7E and c != '"' for c in value)
    return f'"{value}"' if plain and value else value.encode().hex().upper()


def syscall(
    stamp: str,
    number: int,
    pid: int,
    ppid: int,
    exe: str,
    *,
    arch: str = "c000003e",
    uid: int = 0,
    success: str = "yes",
    exit_code: str = "0",
    a0: str = "3",
) -> str:
    comm = exe.rpartition("/")[2][:15]
    return (
        f"type=SYSCALL msg=audit({stamp}): arch={arch} syscall={number} success={success} "
        f"exit={exit_code} a0={a0} a1=7ffc a2=7ffd a3=0 items=2 ppid={ppid} pid={pid} "
        f"auid=1000 uid={uid} gid={uid} euid={uid} suid={uid} fsuid={uid} egid={uid} sgid={uid} "
        f"fsgid={uid} tty=pts0 ses=2 comm={encode(comm)} exe={encode(exe)} key=(null)"
    )


def execve_record(stamp: str, args: list[str]) -> str:
    encoded = " ".join(f"a{i}={encode(a)}" for i, a in enumerate(args))
    return f"type=EXECVE msg=audit({stamp}): argc={len(args)} {encoded}"


def exec_event(
    stamp: str, pid: int, ppid: int, exe: str, args: list[str], cwd: str = "/", **kw: Any
) -> list[str]:
    """SYSCALL, EXECVE, CWD, PATH, PROCTITLE, EOE of one execve."""
    title = "\0".join(args).encode().hex().upper()
    return [
        syscall(stamp, 59, pid, ppid, exe, **kw),
        execve_record(stamp, args),
        f"type=CWD msg=audit({stamp}): cwd={encode(cwd)}",
        f'type=PATH msg=audit({stamp}): item=0 name="{exe}" inode=2 dev=08:01 mode=0100755 '
        "ouid=0 ogid=0 rdev=00:00 nametype=NORMAL",
        f"type=PROCTITLE msg=audit({stamp}): proctitle={title}",
        f"type=EOE msg=audit({stamp}): ",
    ]


def connect_event(stamp: str, pid: int, exe: str, saddr: str, **kw: Any) -> list[str]:
    return [
        syscall(stamp, 42, pid, 1, exe, **kw),
        f"type=SOCKADDR msg=audit({stamp}): saddr={saddr}",
        f"type=EOE msg=audit({stamp}): ",
    ]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def compact(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


def alerts_of(pack: RulePack, path: Path) -> list[tuple[str, list[tuple[str, int]]]]:
    outcome = run_scan(pack, [Input(path, path.name, "auditd")])
    return [(a.rule.name, [(e.file, e.line) for e in a.evidence]) for a in outcome.alerts]


# ---- corpus -------------------------------------------------------------------------------------

CORPUS_COUNTS = {
    # file: (lines, rows, problems, commands)
    "otrf_sh_arp_cache.log": (12, 2, 0, ["arp -a", "grep -v ^?"]),
    "otrf_sh_binary_padding_dd.log": (6, 1, 0, ["dd if=/dev/zero bs=1 count=1"]),
    "elastic_integrations_test-auditd-raw.log": (47, 1, 1, ["top"]),
}


@pytest.mark.parametrize("name", sorted(CORPUS_COUNTS))
def test_corpus_files_parse_with_exact_counts(name: str) -> None:
    path = corpus_dir("auditd") / name
    lines, expected_rows, expected_problems, commands = CORPUS_COUNTS[name]
    assert len(path.read_bytes().splitlines()) == lines
    fmt, _reason = sniff(path)
    assert fmt == "auditd"
    rows, problems = read_rows(path, "auditd")
    assert len(rows) == expected_rows
    assert problems.count == expected_problems
    assert [r["process.command_line"] for r in rows] == commands


def test_corpus_arp_rows_are_complete() -> None:
    rows, _ = read_rows(corpus_dir("auditd") / "otrf_sh_arp_cache.log", "auditd")
    first = compact(rows[0])
    assert first["process.name"] == "arp"
    assert first["process.executable"] == "/usr/sbin/arp"
    assert first["process.args"] == ["arp", "-a"]
    assert first["process.pid"] == 1631
    assert first["process.parent.pid"] == 29002
    assert first["process.working_directory"] == "/home/wardog"
    assert first["user.id"] == "1000"
    assert first["event.id"] == "92733"
    assert first["event.outcome"] == "success"
    assert first["event.category"] == ["process"]
    assert first["event.type"] == ["start"]
    assert first["event.action"] == "executed"
    assert first["event.module"] == "auditd"
    assert first["@timestamp"].isoformat() == "2020-11-10T07:48:16.155000+00:00"
    assert [r["_line"] for r in rows] == [1, 7]


def test_corpus_unknown_record_is_a_problem_at_its_line() -> None:
    _rows, problems = read_rows(
        corpus_dir("auditd") / "elastic_integrations_test-auditd-raw.log", "auditd"
    )
    assert problems.first == [(42, "auditd record without msg=audit(EPOCH:SERIAL)")]


# ---- samples end to end -------------------------------------------------------------------------


def test_container_sample_fires_downloader_miner_and_pool(pack: RulePack) -> None:
    name = "container_miner.log"
    found = alerts_of(pack, SAMPLES / name)
    assert found == [
        ("container_downloader", [(name, 8)]),
        ("miner_cmdline", [(name, 15)]),
        ("miner_process", [(name, 15)]),
        ("miner_then_pool", [(name, 15), (name, 22)]),
        ("pool_connection", [(name, 22)]),
    ]


def test_container_sample_rows_carry_parent_node_and_evidence() -> None:
    rows, problems = read_rows(SAMPLES / "container_miner.log", "auditd")
    assert problems.count == 0
    shim, curl, miner, connection = (compact(r) for r in rows)
    assert shim["host.name"] == "web-1"
    assert "labels.container_evidence" not in shim
    assert curl["process.parent.name"] == "containerd-shim-runc-v2"
    assert curl["process.parent.executable"] == "/usr/bin/containerd-shim-runc-v2"
    assert curl["process.parent.command_line"].startswith("/usr/bin/containerd-shim-runc-v2 -name")
    assert curl["labels.container_evidence"] == "parent:containerd-shim-runc-v2"
    assert "container.id" not in curl
    assert miner["process.args"][-1] == "Mozilla/5.0 (X11)"  # hex-encoded argument
    assert miner["process.executable"] == "/tmp/xmrig"
    assert connection["destination.ip"] == "94.130.12.30"
    assert connection["destination.port"] == 3333
    assert connection["event.outcome"] == "unknown"  # EINPROGRESS: an attempt
    assert connection["process.name"] == "xmrig"
    assert connection["process.command_line"] == miner["process.command_line"]
    assert connection["event.type"] == ["connection", "start"]


def test_benign_sample_fires_nothing_and_skips_unix_sockets(pack: RulePack) -> None:
    path = SAMPLES / "benign.log"
    assert alerts_of(pack, path) == []
    rows, problems = read_rows(path, "auditd")
    assert problems.count == 0
    assert [r["process.name"] for r in rows] == ["bash", "ls", "curl"]
    assert rows[1]["process.parent.name"] == "bash"
    assert rows[2]["destination.ip"] == "93.184.216.34"
    assert rows[2]["destination.port"] == 443


def test_enriched_sample_gives_user_name_and_ipv6(pack: RulePack) -> None:
    path = SAMPLES / "enriched.log"
    rows, problems = read_rows(path, "auditd")
    assert problems.count == 0
    started, connection = (compact(r) for r in rows)
    assert started["user.name"] == "dev"
    assert started["user.id"] == "1000"
    assert started["process.name"] == "xmrig"
    assert started["process.args"][0] == "./xmrig-6.21.0/xmrig"
    assert connection["destination.ip"] == "2a01:4f8:c17:b8f::2"
    assert connection["destination.port"] == 3333
    assert connection["user.name"] == "dev"
    found = alerts_of(pack, path)
    assert ("miner_process", [("enriched.log", 1)]) in found
    assert ("pool_connection", [("enriched.log", 7)]) in found


def test_miner_execve_fires_miner_process_at_its_first_record(
    tmp_path: Path, pack: RulePack
) -> None:
    lines = exec_event("1763800000.000:1", 50, 1, "/usr/bin/ls", ["ls"])
    lines += exec_event("1763800001.000:2", 51, 1, "/dev/shm/.x/xmrig", ["./xmrig", "-B"])
    path = write(tmp_path / "audit.log", lines)
    found = alerts_of(pack, path)
    assert ("miner_process", [("audit.log", 7)]) in found
    assert all(evidence != [("audit.log", 1)] for _name, evidence in found)


# ---- decoding ---------------------------------------------------------------------------------


def test_node_prefix_hex_exe_cwd_and_args(tmp_path: Path) -> None:
    stamp = "1763800000.123:77"
    exe = "/opt/my app/bin/run"
    lines = [
        "node=db-2 " + line
        for line in exec_event(stamp, 9, 8, exe, ["run", "a b", 'q"t', "ü"], cwd="/srv/my dir")
    ]
    assert exe.encode().hex().upper() in lines[0]
    rows, problems = read_rows(write(tmp_path / "a.log", lines), "auditd")
    row = compact(rows[0])
    assert problems.count == 0
    assert row["host.name"] == "db-2"
    assert row["process.executable"] == exe
    assert row["process.name"] == "run"
    assert row["process.args"] == ["run", "a b", 'q"t', "ü"]
    assert row["process.command_line"] == 'run a b q"t ü'
    assert row["process.working_directory"] == "/srv/my dir"
    assert row["event.id"] == "77"
    assert row["@timestamp"].isoformat() == "2025-11-22T08:26:40.123000+00:00"


def test_split_arguments_and_several_execve_records(tmp_path: Path) -> None:
    stamp = "1763800000.000:5"
    long_arg = "x" * 40 + " tail"
    hexed = long_arg.encode().hex().upper()
    lines = [
        syscall(stamp, 59, 10, 1, "/usr/bin/python3"),
        f'type=EXECVE msg=audit({stamp}): argc=4 a0="python3" a1_len={len(long_arg)} '
        f"a1[0]={hexed[:40]} a1[1]={hexed[40:]}",
        f'type=EXECVE msg=audit({stamp}): a2="-c" a3_len=6 a3[0]="pri" a3[1]="nt()"',
        f"type=EOE msg=audit({stamp}): ",
    ]
    rows, _ = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert rows[0]["process.args"] == ["python3", long_arg, "-c", "print()"]


def test_proctitle_is_used_when_execve_is_missing(tmp_path: Path) -> None:
    stamp = "1763800000.000:6"
    title = b"sh\0-c\0sleep 1".hex().upper()
    lines = [
        syscall(stamp, 59, 10, 1, "/bin/sh"),
        f"type=PROCTITLE msg=audit({stamp}): proctitle={title}",
    ]
    rows, _ = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert rows[0]["process.args"] == ["sh", "-c", "sleep 1"]
    assert rows[0]["process.command_line"] == "sh -c sleep 1"


def test_interleaved_and_out_of_order_records(tmp_path: Path) -> None:
    first = exec_event("1763800000.000:10", 100, 1, "/usr/bin/curl", ["curl", "x"])
    second = exec_event("1763800000.001:11", 101, 1, "/usr/bin/wget", ["wget", "y"])
    lines = [second[1], first[0], second[0], first[1], second[2], first[2], first[5], second[5]]
    rows, problems = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert problems.count == 0
    by_name = {r["process.name"]: r for r in rows}
    assert by_name["curl"]["_line"] == 2
    assert by_name["curl"]["process.args"] == ["curl", "x"]
    assert by_name["wget"]["_line"] == 1  # its EXECVE came before its SYSCALL
    assert by_name["wget"]["process.args"] == ["wget", "y"]
    assert by_name["wget"]["process.executable"] == "/usr/bin/wget"


def test_same_serial_on_two_nodes_are_two_events(tmp_path: Path) -> None:
    stamp = "1763800000.000:10"
    lines = [f"node=a {x}" for x in exec_event(stamp, 1, 0, "/bin/a", ["a"])[:2]]
    lines += [f"node=b {x}" for x in exec_event(stamp, 2, 0, "/bin/b", ["b"])[:2]]
    rows, _ = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert sorted((r["host.name"], r["process.name"]) for r in rows) == [("a", "a"), ("b", "b")]


@pytest.mark.parametrize(
    ("saddr", "ip", "port"),
    [
        ("02000D055E820C1E0000000000000000", "94.130.12.30", 3333),
        ("0A0001BB000000002A0104F80C170B8F000000000000000200000000", "2a01:4f8:c17:b8f::2", 443),
        ("0A00115C0000000000000000000000000000FFFF5E820C1E00000000", "::ffff:94.130.12.30", 4444),
    ],
)
def test_socket_addresses(saddr: str, ip: str, port: int) -> None:
    address = socket_address(saddr.encode())
    assert address is not None
    assert (address.ip, address.port) == (ip, port)


@pytest.mark.parametrize("saddr", ["01002F746D702F73", "10000000000000000000000000", "02zz", ""])
def test_other_families_and_bad_hex_give_no_address(saddr: str) -> None:
    assert socket_address(saddr.encode()) is None


def test_connect_on_other_architectures_and_failures(tmp_path: Path) -> None:
    inet = "02000D055E820C1E0000000000000000"
    lines = connect_event("1.000:1", 5, "/usr/bin/nc", inet, arch="40000003", a0="3")[:2]
    lines[0] = lines[0].replace("syscall=42", "syscall=102")
    lines += connect_event("1.000:2", 6, "/usr/bin/nc", inet, arch="c00000b7")[:2]
    lines[-2] = lines[-2].replace("syscall=42", "syscall=203")
    lines += connect_event("1.000:3", 7, "/usr/bin/nc", inet, success="no", exit_code="-111")
    socketcall_send = connect_event("1.000:4", 8, "/usr/bin/nc", inet, arch="40000003", a0="9")
    lines += [socketcall_send[0].replace("syscall=42", "syscall=102"), *socketcall_send[1:]]
    rows, _ = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert [(r["process.pid"], r["event.outcome"]) for r in rows] == [
        (5, "success"),
        (6, "success"),
        (7, "failure"),
    ]


def test_aarch64_and_i386_execve(tmp_path: Path) -> None:
    lines = exec_event("1.000:1", 5, 1, "/bin/xmrig", ["xmrig"], arch="c00000b7")
    lines[0] = lines[0].replace("syscall=59", "syscall=221")
    lines += exec_event("1.000:2", 6, 1, "/bin/minerd", ["minerd"], arch="40000003")
    lines[6] = lines[6].replace("syscall=59", "syscall=11")
    open_call = exec_event("1.000:3", 7, 1, "/bin/cat", ["cat"])[:1]
    lines += [open_call[0].replace("syscall=59", "syscall=257")]
    rows, _ = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert [r["process.name"] for r in rows] == ["xmrig", "minerd"]


# ---- parents and containers -------------------------------------------------------------------


def test_parent_learned_from_a_non_exec_syscall(tmp_path: Path) -> None:
    lines = [syscall("1.000:1", 56, 300, 1, "/usr/bin/containerd-shim-runc-v2")]  # clone
    lines += exec_event("1.000:2", 301, 300, "/usr/bin/wget", ["wget", "http://h/xmrig"])
    rows, _ = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert len(rows) == 1
    assert rows[0]["process.parent.name"] == "containerd-shim-runc-v2"
    assert rows[0]["process.parent.command_line"] is None
    assert rows[0]["labels.container_evidence"] == "parent:containerd-shim-runc-v2"


@pytest.mark.parametrize(
    ("exe", "cwd", "evidence", "container_id"),
    [
        (
            "/var/lib/docker/overlay2/abc123/merged/usr/bin/xmrig",
            "/",
            "rootfs:/var/lib/docker/overlay2/abc123/merged",
            None,
        ),
        (
            "/usr/bin/xmrig",
            "/run/containerd/io.containerd.runtime.v2.task/k8s.io/c0ffee42/rootfs/tmp",
            "rootfs:/run/containerd/io.containerd.runtime.v2.task/k8s.io/c0ffee42/rootfs",
            "c0ffee42",
        ),
        (
            "/var/lib/containers/storage/overlay/feed01/merged/xmrig",
            "/",
            "rootfs:/var/lib/containers/storage/overlay/feed01/merged",
            None,
        ),
        (
            "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/42/fs/bin/sh",
            "/",
            "rootfs:/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/42/fs",
            None,
        ),
        ("/usr/bin/xmrig", "/var/lib/docker/volumes/x", None, None),
    ],
)
def test_rootfs_evidence(
    tmp_path: Path, exe: str, cwd: str, evidence: str | None, container_id: str | None
) -> None:
    rows, _ = read_rows(
        write(tmp_path / "a.log", exec_event("1.000:1", 5, 1, exe, ["x"], cwd)), "auditd"
    )
    assert rows[0]["labels.container_evidence"] == evidence
    assert rows[0]["container.id"] == container_id


@pytest.mark.parametrize("runtime", ["runc", "crun", "conmon", "docker-init", "tini", "catatonit"])
def test_runtime_parents_and_inherited_evidence(tmp_path: Path, runtime: str) -> None:
    lines = exec_event("1.000:1", 10, 1, f"/usr/bin/{runtime}", [runtime])
    lines += exec_event("1.000:2", 11, 10, "/bin/sh", ["sh", "-c", "curl x"])
    lines += exec_event("1.000:3", 12, 11, "/usr/bin/curl", ["curl", "x"])
    lines += exec_event("1.000:4", 13, 99, "/usr/bin/curl", ["curl", "x"])
    rows, _ = read_rows(write(tmp_path / "a.log", lines), "auditd")
    evidence = [r["labels.container_evidence"] for r in rows]
    assert evidence == [None, f"parent:{runtime}", f"ancestor:parent:{runtime}", None]


def test_container_id_record_is_honoured(tmp_path: Path) -> None:
    lines = exec_event("1.000:1", 10, 1, "/usr/bin/xmrig", ["xmrig"])
    lines.insert(5, "type=CONTAINER_ID msg=audit(1.000:1): contid=123459")
    rows, _ = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert (rows[0]["labels.container_evidence"], rows[0]["container.id"]) == ("contid", "123459")


def test_container_downloader_fires_through_a_shell_in_the_container(
    tmp_path: Path, pack: RulePack
) -> None:
    cid = "0123456789ab"
    task = f"/run/containerd/io.containerd.runtime.v2.task/default/{cid}/rootfs"
    lines = exec_event("1.000:1", 10, 1, "/bin/sh", ["sh", "-c", "x"], cwd=task)
    lines += exec_event("1.000:2", 11, 10, "/usr/bin/curl", ["curl", "-O", "http://h/xmrig"])
    path = write(tmp_path / "a.log", lines)
    rows, _ = read_rows(path, "auditd")
    assert rows[1]["container.id"] == cid
    assert ("container_downloader", [("a.log", 7)]) in alerts_of(pack, path)


def test_process_table_is_bounded() -> None:
    table = ProcessTable(limit=3)
    for pid in range(5):
        table.remember(pid, ProcessInfo(str(pid), None, None))
    assert table.get(1) is None
    assert table.get(2) is not None
    table.remember(9, ProcessInfo("9", None, None))  # 3 was least recently used
    assert sorted(table.known) == [2, 4, 9]


# ---- bad input ----------------------------------------------------------------------------------


def test_malformed_lines_are_counted_and_neighbours_read(tmp_path: Path) -> None:
    good = exec_event("1.000:1", 10, 1, "/usr/bin/xmrig", ["xmrig"])
    other = exec_event("1.000:2", 11, 1, "/usr/bin/ls", ["ls"])
    lines = [
        *good[:3],
        "garbage \x00\xff line",
        "",
        "type=SYSCALL msg=audit(abc:def): arch=c000003e",
        f"type=SYSCALL msg=audit({'9' * 5000}.000:1): arch=c000003e syscall=59",
        "type=SYSCALL no message id",
        *good[3:],
        *other,
    ]
    rows, problems = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert [(r["process.name"], r["_line"]) for r in rows] == [("xmrig", 1), ("ls", 12)]
    assert [line for line, _reason in problems.first] == [4, 6, 7, 8]
    assert problems.first[0][1] == "not an auditd record (no type=)"
    assert "malformed" in problems.first[1][1]


@pytest.mark.parametrize(
    "record",
    [
        "type=EXECVE msg=audit(1.000:1): argc=99999999999999999999999 a0=zz a999999=41",
        "type=EXECVE msg=audit(1.000:1): argc=2 a0[x]=1 a1_len=5 a1[0]=ABC a1[9999999]=41",
        "type=PROCTITLE msg=audit(1.000:1): proctitle=ABC",
        "type=SOCKADDR msg=audit(1.000:1): saddr=0A00\x1dSADDR={ { unbalanced",
        "type=CWD msg=audit(1.000:1): cwd=\xff\xfe",
        "type=CONTAINER_ID msg=audit(1.000:1): contid=",
    ],
)
def test_hostile_records_never_crash(tmp_path: Path, record: str) -> None:
    head = syscall("1.000:1", 59, 1, 0, '/bin/x\x1dUID="{ a')
    connect = syscall("1.000:1", 42, 1, 0, "=").replace(" exe=", " exe=ZZZ")
    for first in (head, connect):
        path = tmp_path / "h.log"
        path.write_bytes(f"{first}\n{record}\n".encode("utf-8", "surrogateescape"))
        rows, problems = read_rows(path, "auditd")
        assert problems.count == 0
        assert len(rows) <= 1
        assert all(len(r["process.args"] or []) <= 65536 for r in rows)


def test_over_long_lines_are_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auditd, "MAX_LINE_BYTES", 300)
    monkeypatch.setattr(auditd, "BLOCK_BYTES", 128)
    lines = exec_event("1.000:1", 10, 1, "/usr/bin/xmrig", ["xmrig"])[:2]
    lines.append(execve_record("1.000:2", ["y" * 2000]))
    lines += exec_event("1.000:3", 12, 1, "/usr/bin/ls", ["ls"])[:2]
    lines.append("z" * 1000)
    path = tmp_path / "a.log"
    path.write_text("\n".join(lines), encoding="utf-8")  # no final newline
    rows, problems = read_rows(path, "auditd")
    assert [(r["process.name"], r["_line"]) for r in rows] == [("xmrig", 1), ("ls", 4)]
    assert problems.first == [(3, "line longer than 300 bytes"), (6, "line longer than 300 bytes")]


def test_syslog_prefix_and_crlf_are_tolerated(tmp_path: Path) -> None:
    lines = exec_event("1.000:1", 10, 1, "/usr/bin/xmrig", ["xmrig", "-o", "p:3333"])
    lines[1] = "Nov 22 10:00:00 h audispd: " + lines[1]
    path = tmp_path / "a.log"
    path.write_bytes("".join(x + "\r\n" for x in lines).encode())
    rows, problems = read_rows(path, "auditd")
    assert problems.count == 0
    assert rows[0]["process.args"] == ["xmrig", "-o", "p:3333"]
    assert rows[0]["process.working_directory"] == "/"


@pytest.mark.parametrize(
    "bounds",
    [
        {"MAX_PENDING": 4, "MAX_WAIT_LINES": 8, "CHECK_EVERY": 2},
        {"MAX_HELD_BYTES": 1000},
    ],
)
def test_open_events_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bounds: dict[str, int]
) -> None:
    for name, value in bounds.items():
        monkeypatch.setattr(auditd, name, value)
    lines: list[str] = []
    for serial in range(1, 41):  # no EOE: only the bounds close these events
        lines += exec_event(f"1.000:{serial}", serial, 1, f"/bin/p{serial}", [f"p{serial}"])[:3]
    problems = ReadProblems()
    path = write(tmp_path / "a.log", lines)
    with path.open("rb") as handle:
        sizes = []
        events = auditd.assemble(auditd.line_blocks(handle, problems), problems)
        for event in events:
            sizes.append(len(event.records))
    assert sizes == [3] * 40
    rows, _ = read_rows(path, "auditd")
    assert [r["process.name"] for r in rows] == [f"p{n}" for n in range(1, 41)]


def test_oversized_event_drops_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auditd, "MAX_EVENT_BYTES", 1200)
    lines = exec_event("1.000:1", 10, 1, "/usr/bin/xmrig", ["xmrig", "y" * 1000])
    title = b"xmrig\0" + b"y" * 122  # the kernel cuts PROCTITLE at 128 bytes
    lines[4] = f"type=PROCTITLE msg=audit(1.000:1): proctitle={title.hex().upper()}"
    rows, problems = read_rows(write(tmp_path / "a.log", lines), "auditd")
    assert problems.first == [(2, "record dropped: its event holds over 1200 bytes")]
    assert rows[0]["process.name"] == "xmrig"
    assert rows[0]["process.args"] == ["xmrig", "y" * 122]  # from PROCTITLE


def test_gzip_input(tmp_path: Path, pack: RulePack) -> None:
    plain = (SAMPLES / "container_miner.log").read_bytes()
    path = tmp_path / "audit.log.1.gz"
    path.write_bytes(gzip.compress(plain))
    assert sniff(path) == ("auditd", "")
    names = [name for name, _evidence in alerts_of(pack, path)]
    assert "miner_process" in names
    assert "container_downloader" in names


def test_truncated_gzip_keeps_the_events_read(tmp_path: Path) -> None:
    lines: list[str] = []
    for serial in range(1, 2001):  # no EOE: events are still open when the file breaks off
        lines += exec_event(f"1.000:{serial}", serial, 1, f"/bin/p{serial}", [f"p{serial}"])[:3]
    data = gzip.compress("".join(x + "\n" for x in lines).encode())
    path = tmp_path / "audit.log.gz"
    path.write_bytes(data[: len(data) * 3 // 4])
    problems = ReadProblems()
    rows: list[dict[str, Any]] = []
    with pytest.raises(EOFError):
        for batch in auditd.read(path, "a", problems):
            rows += batch.to_pylist()
    assert len(rows) > 1000
    assert [r["process.name"] for r in rows] == [f"p{n}" for n in range(1, len(rows) + 1)]


# ---- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["container_miner.log", "benign.log", "enriched.log"])
def test_samples_are_sniffed_as_auditd(name: str) -> None:
    assert sniff(SAMPLES / name) == ("auditd", "")


def test_other_formats_are_not_claimed(tmp_path: Path) -> None:
    ecs = tmp_path / "ecs.ndjson"
    ecs.write_text(json.dumps({"message": "type=SYSCALL msg=audit(1.0:1): x"}) + "\n")
    syslog = tmp_path / "syslog"
    syslog.write_text("Nov 22 10:00:00 host sshd[1]: Accepted key\n" * 5)
    mostly_text = tmp_path / "notes.txt"
    mostly_text.write_text("type=SYSCALL msg=audit(1.0:1): a\n" + "hello\n" * 5)
    assert sniff(ecs)[0] != "auditd"
    assert sniff(syslog)[0] != "auditd"
    assert sniff(mostly_text)[0] != "auditd"
