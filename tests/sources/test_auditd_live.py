"""Live: a real kernel audit trail of a renamed miner is read and detected.

Runs only with IMAGEHUNT_LIVE_TESTS=1, as root on Linux with auditd installed; skips with the
reason otherwise (a container without CAP_AUDIT_CONTROL, no auditd, not root).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from imagehunt.rulepack import load_pack
from imagehunt.sources.sniff import read_rows, sniff
from support.live_auditd import live_audit
from support.source_rows import scan_hits


def test_live_miner_exec_fires_miner_process(tmp_path: Path) -> None:
    log = tmp_path / "live-audit.log"
    with live_audit() as session:
        miner = session.workdir / "xmrig"
        shutil.copy("/bin/true", miner)
        miner.chmod(0o755)
        session.run_as_user(str(miner), "-o", "pool.example.invalid:3333")
        probe = "import socket; socket.socket().connect_ex(('127.0.0.1', 3333))"
        if shutil.which("python3"):
            session.run_as_user("python3", "-c", probe)
        session.collect(log, needle=str(miner))
    assert sniff(log) == ("auditd", "")
    rows, _ = read_rows(log, "auditd")
    # the log may hold earlier sessions too: this one's temp dir is unique
    starts = [r for r in rows if r["process.executable"] == str(miner)]
    assert starts, f"no execve of the copy in {log.read_text()[:2000]}"
    start = starts[0]
    assert start["process.args"] == [str(miner), "-o", "pool.example.invalid:3333"]
    assert start["process.name"] == "xmrig"
    assert start["user.id"] is not None and start["user.id"] != "0"
    lines = log.read_bytes().split(b"\n")  # not str.splitlines: enriched logs hold \x1d
    assert b"msg=audit(" in lines[start["_line"] - 1]
    hits = scan_hits(load_pack(select=["miner_process"]), log, "auditd")
    assert ("miner_process", log.name, start["_line"]) in hits
    if shutil.which("python3"):
        ports = [r["destination.port"] for r in rows if r["destination.ip"] == "127.0.0.1"]
        assert 3333 in ports
