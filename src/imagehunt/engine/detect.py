"""The scan pipeline: compile the pack, read the inputs, match, correlate, make alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from imagehunt.alerts.model import Alert, level_rank
from imagehunt.config import Config
from imagehunt.engine.alerting import chain_alert, single_alert
from imagehunt.engine.cloud_launch import assess_launch, learn_images
from imagehunt.engine.compile import compile_rules, rules_to_run
from imagehunt.engine.correlate import MatchRow, correlate
from imagehunt.engine.scan import InputReport, MatchedEvent, TimeWindow, scan_inputs
from imagehunt.engine.session import connect
from imagehunt.errors import RuleError
from imagehunt.rulepack import RulePack
from imagehunt.sources.inputs import Input

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Formats whose files each come from one host (the sensor writes its own host's events).
PER_HOST_FORMATS = frozenset({"auditd", "sysmon"})


@dataclass
class ScanOutcome:
    """Everything a scan produced: alerts, per-input reports, rule errors."""

    alerts: list[Alert]
    inputs: list[InputReport]
    rule_errors: list[RuleError] = field(default_factory=list)
    rules_run: int = 0

    @property
    def events(self) -> int:
        return sum(r.events for r in self.inputs)

    @property
    def problems(self) -> int:
        return sum(r.problems.count for r in self.inputs)


def _group_key(event: MatchedEvent, group_by: Sequence[str]) -> tuple[object, ...]:
    """The event's group-by values. A per-host log that names no host (auditd without
    ``node=``, a syslog file of Sysmon for Linux) is one host: its file stands in for it."""
    values = tuple(event.fields.get(g) for g in group_by)
    if list(group_by) == ["host.name"] and values == (None,) and event.format in PER_HOST_FORMATS:
        return (f"file:{event.file}",)
    return values


def _match_rows(
    events: Sequence[MatchedEvent], rule_ids: Sequence[str], group_by: Sequence[str]
) -> list[MatchRow]:
    rows: list[MatchRow] = []
    for key, event in enumerate(events):
        pid = event.fields.get("process.pid")
        entity = event.fields.get("process.entity_id")
        for index in event.rule_indexes:
            rows.append(
                MatchRow(
                    key=key,
                    rule_id=rule_ids[index],
                    timestamp=event.timestamp,
                    group=_group_key(event, group_by),
                    entity_id=str(entity) if entity is not None else None,
                    pid=int(pid) if pid is not None else None,
                )
            )
    return rows


def run_scan(
    pack: RulePack,
    inputs: Sequence[Input],
    window: TimeWindow | None = None,
    *,
    min_level: str | None = None,
    config: Config | None = None,
) -> ScanOutcome:
    """Scan inputs with the pack's selected rules; errors are collected, never raised."""
    config = config or Config()
    con = connect()
    detections, correlations = rules_to_run(pack)
    compiled, errors = compile_rules(detections, con)
    matches, reports = scan_inputs(con, compiled, inputs, window or TimeWindow())
    rule_ids = [c.rule.id for c in compiled]
    alerts: list[Alert] = []
    images = learn_images(
        event.fields.get("aws.cloudtrail.response_elements")
        for event in matches
        if any(compiled[i].rule.context_only for i in event.rule_indexes)
    )
    for event in matches:
        for index in event.rule_indexes:
            rule = compiled[index].rule
            if rule.context_only or rule.id not in pack.selected:
                continue
            if rule.assessment != "cloud_image_launch":
                alerts.append(single_alert(rule, event, pack.version))
                continue
            # assessed first: most launches are routine and build no alert at all
            verdict = assess_launch(event.fields, images, config.cloud)
            if verdict.level is None:
                continue
            alert = single_alert(rule, event, pack.version)
            alerts.append(
                replace(
                    alert,
                    rule=replace(alert.rule, level=verdict.level),
                    summary=f"{alert.summary}: {'; '.join(verdict.reasons)}",
                )
            )
    for corr in correlations:
        sigma_group = list(corr.sigma.group_by or [])  # type: ignore[union-attr]
        try:
            chains = correlate(con, corr, pack, _match_rows(matches, rule_ids, sigma_group))
        except RuleError as exc:
            errors.append(exc)
            continue
        alerts.extend(chain_alert(chain, matches, pack.version) for chain in chains)
    con.close()
    if min_level is not None:
        alerts = [a for a in alerts if level_rank(a.level) >= level_rank(min_level)]
    alerts.sort(
        key=lambda a: (
            a.timestamp is None,
            a.timestamp or _EPOCH,
            a.evidence[0].file,
            a.evidence[0].line,
            a.rule.name,
        )
    )
    return ScanOutcome(
        alerts=alerts,
        inputs=reports,
        rule_errors=errors,
        rules_run=len(compiled) + len(correlations),
    )
