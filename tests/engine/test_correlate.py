"""miner_then_pool: order, window, grouping and same-process escalation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imagehunt.engine.detect import run_scan
from imagehunt.rulepack import RulePack, load_pack
from imagehunt.sources.inputs import Input
from support.events import MINER, event, write_lines

DNS = {
    "@timestamp": "2026-11-20T10:01:00Z",
    "event": {"category": ["network"], "type": ["protocol"], "action": "lookup_requested"},
    "host": {"name": "h1"},
    "process": {"pid": 10, "entity_id": "e10", "name": "xmrig"},
    "dns": {"question": {"name": "pool.supportxmr.com"}},
}
CONN = {
    "@timestamp": "2026-11-20T10:02:00Z",
    "event": {"category": ["network"], "type": ["start"], "action": "connection_attempted"},
    "host": {"name": "h1"},
    "process": {"pid": 99, "entity_id": "e99", "name": "curl"},
    "destination": {"ip": "45.9.148.21", "port": 3333},
}


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack(select=["miner_then_pool"])


def _correlations(pack: RulePack, tmp_path: Path, lines: list[Any]) -> list[tuple[str, list[int]]]:
    path = write_lines(tmp_path / "c.ndjson", lines)
    outcome = run_scan(pack, [Input(path, str(path), "ecs")])
    return [(a.level, [e.line for e in a.evidence]) for a in outcome.alerts]


def test_same_process_is_critical_other_process_high(pack: RulePack, tmp_path: Path) -> None:
    assert _correlations(pack, tmp_path, [MINER, DNS]) == [("critical", [1, 2])]
    assert _correlations(pack, tmp_path, [MINER, CONN]) == [("high", [1, 2])]


def test_same_pid_without_entity_id_is_critical(pack: RulePack, tmp_path: Path) -> None:
    miner = event(MINER, **{"process.entity_id": None})
    conn = event(CONN, **{"process.pid": 10, "process.entity_id": None})
    assert _correlations(pack, tmp_path, [miner, conn]) == [("critical", [1, 2])]


def test_prefers_the_same_process_chain(pack: RulePack, tmp_path: Path) -> None:
    late_dns = event(DNS, **{"@timestamp": "2026-11-20T10:03:00Z"})
    assert _correlations(pack, tmp_path, [MINER, CONN, late_dns]) == [("critical", [1, 3])]


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([event(CONN, **{"@timestamp": "2026-11-20T09:59:00Z"}), MINER], id="order"),
        pytest.param([MINER, event(CONN, **{"@timestamp": "2026-11-20T10:06:00Z"})], id="window"),
        pytest.param([MINER, event(CONN, **{"host.name": "h2"})], id="other-host"),
        pytest.param([MINER, event(CONN, **{"destination.ip": "10.1.1.1"})], id="private"),
        pytest.param([event(MINER, **{"@timestamp": None}), CONN], id="no-time"),
    ],
)
def test_no_chain(pack: RulePack, tmp_path: Path, lines: list[Any]) -> None:
    assert _correlations(pack, tmp_path, lines) == []


def test_exactly_five_minutes_is_inside_the_window(pack: RulePack, tmp_path: Path) -> None:
    conn = event(CONN, **{"@timestamp": "2026-11-20T10:05:00Z"})
    assert _correlations(pack, tmp_path, [MINER, conn]) == [("high", [1, 2])]


def test_steps_may_come_from_different_files(pack: RulePack, tmp_path: Path) -> None:
    first = write_lines(tmp_path / "proc.ndjson", [MINER])
    second = write_lines(tmp_path / "net.ndjson", [CONN])
    outcome = run_scan(pack, [Input(p, str(p), "ecs") for p in (first, second)])
    assert [[(Path(e.file).name, e.line) for e in a.evidence] for a in outcome.alerts] == [
        [("proc.ndjson", 1), ("net.ndjson", 1)]
    ]


def _hostless(path: Path, fmt: str, lines: list[Any], pack: RulePack) -> list[list[int]]:
    write_lines(path, lines)
    outcome = run_scan(pack, [Input(path, str(path), fmt)])
    return [
        [e.line for e in a.evidence] for a in outcome.alerts if a.rule.name == "miner_then_pool"
    ]


def test_a_per_host_log_without_host_names_is_one_host(tmp_path: Path, pack: RulePack) -> None:
    """auditd without ``node=`` names no host; its file is one host's log."""
    miner_execve = (
        "type=SYSCALL msg=audit(1763805600.100:7001): arch=c000003e syscall=59 success=yes "
        'exit=0 ppid=1 pid=4200 uid=0 comm="xmrig" exe="/tmp/.x/xmrig"\n'
        'type=EXECVE msg=audit(1763805600.100:7001): argc=1 a0="/tmp/.x/xmrig"'
    )
    connect = (
        "type=SYSCALL msg=audit(1763805630.000:7002): arch=c000003e syscall=42 success=no "
        'exit=-115 ppid=1 pid=4200 uid=0 comm="xmrig" exe="/tmp/.x/xmrig"\n'
        "type=SOCKADDR msg=audit(1763805630.000:7002): saddr=02000D052D099415000000000000000"
        "0"
    )
    assert _hostless(tmp_path / "audit.log", "auditd", [miner_execve, connect], pack) == [[1, 3]]


def test_hostless_events_of_a_multi_host_format_are_not_grouped(
    tmp_path: Path, pack: RulePack
) -> None:
    miner = event(MINER, host=None)
    conn = event(CONN, host=None)
    assert _hostless(tmp_path / "c.ndjson", "ecs", [miner, conn], pack) == []
