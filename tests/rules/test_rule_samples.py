"""True-positive and true-negative samples of every shipped rule, run through the real engine.

Each ``tests/rules/<rule slug>/`` folder holds ``tp.ndjson`` (every line must be reported by
that rule) and ``tn.ndjson`` (no line may be). Lines are ECS events (nested, dotted or mixed
keys) with a ``_case`` key describing the case; the engine ignores unknown keys. Lines of a
correlation rule's ``tp.ndjson`` also carry ``_chain`` (which lines form one alert, in step
order) and ``_expect_level``; a detection rule's tp line may carry ``_expect_level`` too (rules
whose level is decided per event). A context rule (``role: context``) never alerts: its tp
lines are what other rules learn from, checked through those rules' expected levels.

A sample the rule gets wrong although its own description says it should handle it stays in
the files and is marked here as a strict xfail with the reason, so the fix turns it green.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from imagehunt.alerts.model import Alert, level_rank
from imagehunt.engine import scan as engine_scan
from imagehunt.engine.detect import ScanOutcome, run_scan
from imagehunt.rulepack import RulePack, builtin_rules_dir, load_pack
from imagehunt.sources.inputs import Input

RULES_DIR = Path(__file__).resolve().parent
KINDS = ("tp", "tn")
MIN_LINES = 3

# Floors for each shipped rule's level (a new rule must be added here).
MIN_LEVEL = {
    "miner_process": "high",
    "miner_cmdline": "high",
    "container_downloader": "high",
    "container_credential_exposure": "high",
    "miner_then_pool": "high",
    "pool_connection": "medium",
    "pool_dns": "medium",
    "image_typosquat": "medium",
    "image_malicious_namespace": "medium",
    "image_pull_typosquat": "medium",
    "image_pull_malicious_namespace": "high",
    "cloud_image_launch": "medium",  # the per-event level is checked with _expect_level
    "cloud_image_inventory": "informational",  # context only: never alerts
}
BASE_TAGS = ("attack.execution", "attack.t1204.003")
MINING_TAGS = ("attack.impact", "attack.t1496")
MINING_RULES = frozenset(
    {
        "miner_process",
        "miner_cmdline",
        "pool_connection",
        "pool_dns",
        "miner_then_pool",
        "container_downloader",
    }
)

# (rule, tp|tn, _case) -> why the rule gets this sample wrong. Each is a strict xfail.
RULE_BUGS: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Sample:
    """One line of a sample file."""

    slug: str
    kind: str
    path: Path
    line: int
    doc: dict[str, Any]

    @property
    def case(self) -> str:
        return str(self.doc.get("_case", ""))

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(RULES_DIR.parent.parent)}:{self.line}"

    @property
    def timestamp(self) -> datetime | None:
        text = self.doc.get("@timestamp")
        if not isinstance(text, str):
            return None
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def sample_folders() -> list[Path]:
    return sorted(p for p in RULES_DIR.iterdir() if p.is_dir() and any(p.glob("t[pn].ndjson")))


def shipped_rule_names() -> list[str]:
    return sorted(p.stem for p in builtin_rules_dir().glob("*.yml"))


def read_samples(path: Path, slug: str, kind: str) -> list[Sample]:
    samples = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError:
            doc = {"_invalid": raw}
        samples.append(Sample(slug, kind, path, number, doc if isinstance(doc, dict) else {}))
    return samples


def all_samples() -> list[Sample]:
    found = []
    for folder in sample_folders():
        for kind in KINDS:
            path = folder / f"{kind}.ndjson"
            if path.exists():
                found += read_samples(path, folder.name, kind)
    return found


def params(kind: str) -> list[Any]:
    out = []
    for sample in all_samples():
        if sample.kind != kind:
            continue
        reason = RULE_BUGS.get((sample.slug, sample.kind, sample.case))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(sample, id=f"{sample.slug}/{kind}:{sample.line}", marks=marks))
    return out


# ---- running the engine once per module ------------------------------------------------------
@pytest.fixture(scope="module")
def pack() -> RulePack:
    loaded = load_pack()
    assert not loaded.errors, [str(e) for e in loaded.errors]
    return loaded


def _scan(pack: RulePack, paths: Sequence[Path], reader: str | None = None) -> ScanOutcome:
    outcome = run_scan(pack, [Input(p, str(p), "ecs") for p in paths])
    assert not outcome.rule_errors, [str(e) for e in outcome.rule_errors]
    for report in outcome.inputs:
        assert report.problems.count == 0, f"{report.display}: {report.problems.first}"
        if reader is not None:
            assert report.path_taken == reader, f"{report.display}: read by {report.path_taken}"
    return outcome


def collect_alerts(pack: RulePack, reader: str | None = None) -> dict[str, list[Alert]]:
    """Alerts whose evidence touches each sample file.

    Detection-rule files are scanned together in one pass (their alerts are per event, so
    files cannot interfere); alerts of correlation rules from that pass are dropped, because
    correlation groups by host across files. Each correlation rule's files are scanned alone.
    """
    correlations = {r.name for r in pack.rules if r.is_correlation}
    single, alone = [], []
    for folder in sample_folders():
        for kind in KINDS:
            path = folder / f"{kind}.ndjson"
            if path.exists():
                (alone if folder.name in correlations else single).append(path)
    found: dict[str, list[Alert]] = defaultdict(list)
    for alert in _scan(pack, single, reader).alerts:
        if alert.rule.name in correlations:
            continue
        for file in {ev.file for ev in alert.evidence}:
            found[file].append(alert)
    for path in alone:
        for alert in _scan(pack, [path], reader).alerts:
            for file in {ev.file for ev in alert.evidence}:
                found[file].append(alert)
    return found


@pytest.fixture(scope="module")
def alerts_by_file(pack: RulePack) -> dict[str, list[Alert]]:
    return collect_alerts(pack, reader="exact")


def _alerts_on(alerts: list[Alert], sample: Sample) -> list[Alert]:
    return [
        a
        for a in alerts
        if any(ev.file == str(sample.path) and ev.line == sample.line for ev in a.evidence)
    ]


def _names(alerts: list[Alert]) -> str:
    return ", ".join(sorted({f"{a.rule.name} ({a.level})" for a in alerts})) or "none"


# ---- the pack has samples and metadata for every rule ----------------------------------------
def test_every_shipped_rule_has_samples() -> None:
    shipped = set(shipped_rule_names())
    folders = {p.name for p in sample_folders()}
    assert shipped - folders == set(), "rules without a tests/rules/<slug>/ folder"
    assert folders - shipped == set(), "sample folders for rules that are not shipped"
    for slug in sorted(shipped):
        for kind in KINDS:
            path = RULES_DIR / slug / f"{kind}.ndjson"
            assert path.exists(), f"missing {path}"
            lines = [raw for raw in path.read_text(encoding="utf-8").splitlines() if raw.strip()]
            assert len(lines) >= MIN_LINES, f"{path}: {len(lines)} lines, need {MIN_LINES}"


@pytest.mark.parametrize("slug", shipped_rule_names())
def test_sample_lines_are_annotated_events(slug: str) -> None:
    for kind in KINDS:
        samples = read_samples(RULES_DIR / slug / f"{kind}.ndjson", slug, kind)
        cases = [s.case for s in samples]
        for sample in samples:
            assert "_invalid" not in sample.doc, f"{sample.where}: not a JSON object"
            assert sample.case.strip(), f"{sample.where}: no _case description"
            assert sample.timestamp is not None, f"{sample.where}: no @timestamp"
        duplicates = sorted({c for c in cases if cases.count(c) > 1})
        assert not duplicates, f"{slug}/{kind}.ndjson repeats _case values: {duplicates}"


@pytest.mark.parametrize("slug", shipped_rule_names())
def test_rule_metadata(pack: RulePack, slug: str) -> None:
    rule = pack.by_ref(slug)
    assert slug in MIN_LEVEL, f"add a minimum level for {slug} to MIN_LEVEL"
    assert level_rank(rule.ref.level) >= level_rank(MIN_LEVEL[slug]), (
        f"{slug} is {rule.ref.level}, must be at least {MIN_LEVEL[slug]}"
    )
    wanted = BASE_TAGS + (MINING_TAGS if slug in MINING_RULES else ())
    missing = [t for t in wanted if t not in rule.ref.tags]
    assert not missing, f"{slug} lacks ATT&CK tags {missing}"
    assert rule.investigation_guide.strip(), f"{slug} has no investigation_guide"
    assert rule.response_playbook.strip(), f"{slug} has no response_playbook"


# ---- every sample line, one test each ----------------------------------------------------------
@pytest.mark.parametrize("sample", params("tp"))
def test_true_positive_is_reported(
    sample: Sample, pack: RulePack, alerts_by_file: dict[str, list[Alert]]
) -> None:
    on_line = _alerts_on(alerts_by_file[str(sample.path)], sample)
    mine = [a for a in on_line if a.rule.name == sample.slug]
    if pack.by_ref(sample.slug).context_only:
        assert not mine, f"{sample.where}: context rule {sample.slug} raised an alert"
        return
    assert mine, (
        f"{sample.where} ({sample.case!r}): rule {sample.slug} did not alert; "
        f"alerts on this line: {_names(on_line)}"
    )
    if pack.by_ref(sample.slug).is_correlation:
        return
    assert len(mine) == 1, f"{sample.where}: {len(mine)} alerts of {sample.slug} for one event"
    alert = mine[0]
    assert [(ev.file, ev.line) for ev in alert.evidence] == [(str(sample.path), sample.line)], (
        f"{sample.where}: evidence {alert.evidence} is not this event's line"
    )
    assert alert.timestamp == sample.timestamp, (
        f"{sample.where}: alert time {alert.timestamp} is not the event's {sample.timestamp}"
    )
    expected_level = sample.doc.get("_expect_level")
    if expected_level is not None:
        assert alert.level == expected_level, (
            f"{sample.where} ({sample.case!r}): level {alert.level}, want {expected_level}; "
            f"{alert.summary}"
        )


@pytest.mark.parametrize("sample", params("tn"))
def test_true_negative_is_not_reported(
    sample: Sample, alerts_by_file: dict[str, list[Alert]]
) -> None:
    on_line = _alerts_on(alerts_by_file.get(str(sample.path), []), sample)
    mine = [a for a in on_line if a.rule.name == sample.slug]
    assert not mine, (
        f"{sample.where} ({sample.case!r}): rule {sample.slug} alerted on a true negative: "
        + "; ".join(a.summary for a in mine)
    )


def test_tp_files_get_no_stray_alerts(alerts_by_file: dict[str, list[Alert]]) -> None:
    """Each detection rule alerts once per tp line, and only on existing lines."""
    for folder in sample_folders():
        path = folder / "tp.ndjson"
        lines = {s.line for s in read_samples(path, folder.name, "tp")}
        mine = [a for a in alerts_by_file.get(str(path), []) if a.rule.name == folder.name]
        for alert in mine:
            stray = [
                ev.line for ev in alert.evidence if ev.file == str(path) and ev.line not in lines
            ]
            assert not stray, f"{path}: {alert.rule.name} evidence on lines {stray}"


# ---- correlation: exact chains, order and level ------------------------------------------------
def correlation_slugs() -> list[str]:
    names = []
    for slug in shipped_rule_names():
        doc = yaml.safe_load((builtin_rules_dir() / f"{slug}.yml").read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "correlation" in doc:
            names.append(slug)
    return names


@pytest.mark.parametrize("slug", correlation_slugs())
def test_correlation_chains_evidence_and_level(
    slug: str, alerts_by_file: dict[str, list[Alert]]
) -> None:
    tp = RULES_DIR / slug / "tp.ndjson"
    chains: dict[str, list[Sample]] = defaultdict(list)
    for sample in read_samples(tp, slug, "tp"):
        assert "_chain" in sample.doc, f"{sample.where}: a correlation tp line needs _chain"
        chains[str(sample.doc["_chain"])].append(sample)
    got = {
        tuple((ev.file, ev.line) for ev in a.evidence): a
        for a in alerts_by_file[str(tp)]
        if a.rule.name == slug
    }
    for name, steps in chains.items():
        expected = tuple((str(s.path), s.line) for s in steps)
        level = steps[0].doc.get("_expect_level")
        where = f"{tp.name} chain {name} ({steps[0].case!r})"
        assert expected in got, (
            f"{where}: no {slug} alert with evidence {expected}; got {sorted(got)}"
        )
        assert got[expected].level == level, f"{where}: level {got[expected].level}, want {level}"
    assert len(got) == len(chains), f"{slug}: {len(got)} alerts for {len(chains)} chains"
    tn = RULES_DIR / slug / "tn.ndjson"
    stray = [a.summary for a in alerts_by_file.get(str(tn), []) if a.rule.name == slug]
    assert not stray, f"{tn}: {slug} alerted: {stray}"


def test_correlation_prefers_the_same_process(pack: RulePack, tmp_path: Path) -> None:
    """A miner, then another process's DNS query, then the miner's own connection: one
    critical alert whose second step is the miner's own connection."""
    host = {"name": "mtp-pref"}
    events = [
        {
            "@timestamp": "2026-11-22T10:00:00Z",
            "event": {"category": ["process"], "type": ["start"], "action": "exec"},
            "host": host,
            "process": {"pid": 41, "entity_id": "pref-41", "name": "xmrig", "args": ["xmrig"]},
        },
        {
            "@timestamp": "2026-11-22T10:00:10Z",
            "event.category": ["network"],
            "event.type": ["protocol"],
            "event.action": "lookup_requested",
            "host.name": "mtp-pref",
            "process.pid": 77,
            "process.entity_id": "pref-77",
            "dns.question.name": "pool.minexmr.com",
        },
        {
            "@timestamp": "2026-11-22T10:01:00Z",
            "event": {"category": ["network"], "type": ["start"], "action": "connection_attempted"},
            "host": host,
            "process": {"pid": 41, "entity_id": "pref-41", "name": "xmrig"},
            "destination": {"ip": "45.9.148.21", "port": 3333},
        },
    ]
    path = tmp_path / "prefer.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    alerts = [a for a in _scan(pack, [path]).alerts if a.rule.name == "miner_then_pool"]
    assert [[ev.line for ev in a.evidence] for a in alerts] == [[1, 3]]
    assert alerts[0].level == "critical"


AlertKey = tuple[str, str, str, tuple[tuple[str, int], ...]]


def _digest(found: dict[str, list[Alert]]) -> set[AlertKey]:
    return {
        (file, a.rule.name, a.level, tuple((ev.file, ev.line) for ev in a.evidence))
        for file, alerts in found.items()
        for a in alerts
    }


def test_fast_reader_path_gives_the_same_alerts(
    pack: RulePack, alerts_by_file: dict[str, list[Alert]]
) -> None:
    """The sample files are small, so the scan reads them line by line in Python; DuckDB's
    read_ndjson path (taken for big files) must give the same alerts on the same lines."""
    if not hasattr(engine_scan, "FAST_PATH_MIN_BYTES"):
        pytest.skip("the engine no longer has a size threshold for its fast reader")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_scan, "FAST_PATH_MIN_BYTES", 0)
        fast = collect_alerts(pack, reader="fast")
    assert _digest(fast) == _digest(alerts_by_file)
