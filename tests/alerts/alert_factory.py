"""Build Alert values for writer tests with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from imagehunt.alerts.model import Alert, Evidence, RuleRef

MINER = RuleRef(
    id="0b7c7e2e-6f0e-4d7a-9c55-1d2f3a4b5c6d",
    name="miner_process",
    title="Cryptominer process started in a container",
    level="high",
    branch="MinerProcessExecution",
    tags=("attack.execution", "attack.t1204.003"),
)
POOL = RuleRef(
    id="5e1f9a30-2b4c-4e6d-8f70-a1b2c3d4e5f6",
    name="pool_connection",
    title="Connection to a mining pool",
    level="medium",
    branch="MiningPoolConnection",
    tags=("attack.command_and_control",),
)
CHAIN = RuleRef(
    id="9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    name="pull_then_mine",
    title="Untrusted image pulled, then a miner ran",
    level="critical",
    branch="PullThenMine",
    tags=("attack.t1204.003",),
)


def make_alert(
    *,
    rule: RuleRef = MINER,
    timestamp: datetime | None = datetime(2024, 5, 1, 12, 0, 3, tzinfo=UTC),
    file: str = "logs/a.ndjson",
    line: int = 12,
    evidence: tuple[Evidence, ...] | None = None,
    fields: dict[str, Any] | None = None,
    **overrides: Any,
) -> Alert:
    """An alert from ``rule`` on one evidence record unless ``evidence`` is given."""
    values: dict[str, Any] = {
        "pack_version": "2024.05.0",
        "summary": "xmrig started in container web-1",
        "host_name": "node-1",
        "container_id": "c0ffee",
        "container_image": "docker.io/evil/miner:latest",
        "suppress_hint": f"rule:{rule.name} host:node-1",
    }
    values.update(overrides)
    return Alert(
        rule=rule,
        timestamp=timestamp,
        evidence=evidence or (Evidence(file, line, "ecs", event_id=f"evt-{line}"),),
        fields=fields if fields is not None else {"process.name": "xmrig"},
        **values,
    )


def sample_alerts() -> list[Alert]:
    """Three alerts over two hosts, one correlated with two evidence records."""
    return [
        make_alert(),
        make_alert(
            rule=POOL,
            line=40,
            timestamp=datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC),
            summary="connection to pool.example:3333",
            host_name="node-2",
            container_id=None,
            container_image=None,
        ),
        make_alert(
            rule=CHAIN,
            evidence=(
                Evidence("logs/docker events.json", 3, "docker", event_id="pull-1"),
                Evidence("logs/a.ndjson", 12, "ecs", event_id="evt-12"),
            ),
            summary="evil/miner pulled then xmrig ran on node-1",
        ),
    ]
