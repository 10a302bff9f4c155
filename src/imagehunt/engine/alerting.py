"""Turn matched events and correlation chains into Alert values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from imagehunt import schema
from imagehunt.alerts.model import Alert, Evidence, RuleRef
from imagehunt.engine.correlate import Chain
from imagehunt.engine.scan import MatchedEvent
from imagehunt.rulepack import PackRule

MAX_FIELD_CHARS = 4096


def event_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence event's non-empty schema fields, JSON-ready and bounded in size."""
    out: dict[str, Any] = {}
    for name in schema.FIELD_NAMES:
        value = fields.get(name)
        if value is None or value == []:
            continue
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            value = value[:MAX_FIELD_CHARS] + "…"
        elif isinstance(value, list):
            value = [v[:MAX_FIELD_CHARS] if isinstance(v, str) else v for v in value]
        out[name] = value
    return out


def describe(fields: Mapping[str, Any]) -> str:
    """A short human description of what the event shows."""
    account = fields.get("cloud.account.id")
    if fields.get("host.name"):
        where = f"on {fields['host.name']}"
    elif account:
        region = fields.get("cloud.region")
        where = f"in {fields.get('cloud.provider') or 'cloud'} account {account}" + (
            f" ({region})" if region else ""
        )
    else:
        where = "on unknown host"
    what: list[str] = []
    process = fields.get("process.command_line") or " ".join(fields.get("process.args") or [])
    if not process:
        process = fields.get("process.executable") or fields.get("process.name") or ""
    if process:
        what.append(f"process `{str(process)[:160]}`")
    if fields.get("destination.ip") or fields.get("destination.domain"):
        dest = fields.get("destination.domain") or fields.get("destination.ip")
        port = fields.get("destination.port")
        what.append(f"to {dest}{':' + str(port) if port is not None else ''}")
    if fields.get("dns.question.name"):
        what.append(f"DNS query {fields['dns.question.name']}")
    if fields.get("container.image.name"):
        what.append(f"in image {fields['container.image.name']}")
    if not what and fields.get("event.action"):
        caller = fields.get("user.name") or fields.get("aws.cloudtrail.user_identity.arn")
        what.append(str(fields["event.action"]) + (f" by {caller}" if caller else ""))
    return f"{where}: " + (", ".join(what) if what else "event")


def evidence_of(event: MatchedEvent) -> Evidence:
    event_id = event.fields.get("event.id")
    return Evidence(
        file=event.file,
        line=event.line,
        format=event.format,
        event_id=str(event_id) if event_id is not None else None,
    )


def _suppress_hint(rule: PackRule, fields: Mapping[str, Any]) -> str:
    """How to silence this finding with what exists today (per-host allow-lists: not yet)."""
    host = fields.get("host.name")
    scope = f" (seen on host {host})" if host else ""
    return f"imagehunt scan ... --exclude-rule {rule.name}{scope}"


def single_alert(rule: PackRule, event: MatchedEvent, pack_version: str) -> Alert:
    """Alert for one event matched by one detection rule."""
    fields = event.fields
    return Alert(
        rule=rule.ref,
        timestamp=event.timestamp,
        pack_version=pack_version,
        summary=f"{rule.ref.title} {describe(fields)}",
        evidence=(evidence_of(event),),
        fields=event_fields(fields),
        host_name=_opt(fields.get("host.name")),
        container_id=_opt(fields.get("container.id")),
        container_image=_opt(fields.get("container.image.name")),
        suppress_hint=_suppress_hint(rule, fields),
    )


def chain_alert(chain: Chain, events: Sequence[MatchedEvent], pack_version: str) -> Alert:
    """Alert for a correlation chain: every step's evidence, first step's fields."""
    rule = chain.rule
    steps = [events[k] for k in chain.keys]
    level = rule.ref.level
    if chain.same_process and rule.escalate_same_process:
        level = rule.escalate_same_process
    ref = RuleRef(rule.ref.id, rule.ref.name, rule.ref.title, level, rule.ref.branch, rule.ref.tags)
    first = steps[0].fields
    merged = event_fields(first)
    for step in steps[1:]:
        for name, value in event_fields(step.fields).items():
            merged.setdefault(name, value)
    detail = "; then ".join(describe(s.fields) for s in steps)
    same = " (same process)" if chain.same_process else ""
    return Alert(
        rule=ref,
        timestamp=steps[0].timestamp,
        pack_version=pack_version,
        summary=f"{rule.ref.title}{same}: {detail}",
        evidence=tuple(evidence_of(s) for s in steps),
        fields=merged,
        host_name=_opt(first.get("host.name")),
        container_id=_opt(first.get("container.id")),
        container_image=_opt(first.get("container.image.name")),
        suppress_hint=_suppress_hint(rule, first),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)
