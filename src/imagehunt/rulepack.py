"""Load the rule pack: the shipped Sigma rules plus users' own, with every error located.

A rule is addressed by its slug (the Sigma ``name``, also the file name of shipped rules) or
its UUID. Shipped rules must carry imagehunt's triage metadata; users' rules need only be
valid Sigma. Errors of a load are collected and reported together; a bad rule never stops
the good ones, and no rule is dropped silently.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule

from imagehunt import __version__, safe_yaml
from imagehunt.alerts.model import LEVELS, RuleRef, level_rank
from imagehunt.errors import RuleError, UsageError

REQUIRED_PACK_ATTRIBUTES = ("branch", "investigation_guide", "response_playbook")
# Per-event level decisions the engine knows (custom attribute ``assessment``).
ASSESSMENTS = ("cloud_image_launch",)
CONTEXT_ROLE = "context"  # custom attribute ``role: context``: feeds assessments, never alerts
MAX_RULE_FILE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class PackRule:
    """One loaded rule with the metadata imagehunt uses around it."""

    sigma: SigmaRule | SigmaCorrelationRule
    ref: RuleRef
    description: str
    falsepositives: tuple[str, ...]
    investigation_guide: str
    response_playbook: str
    path: str
    line: int
    builtin: bool
    escalate_same_process: str | None = None
    assessment: str | None = None
    context_only: bool = False

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def id(self) -> str:
        return self.ref.id

    @property
    def is_correlation(self) -> bool:
        return isinstance(self.sigma, SigmaCorrelationRule)


@dataclass
class RulePack:
    """The rules to run, the rules to report, and the load errors."""

    rules: list[PackRule]
    version: str
    errors: list[RuleError] = field(default_factory=list)
    selected: set[str] = field(default_factory=set)  # rule ids whose alerts are reported

    def by_ref(self, ref: str) -> PackRule:
        """Find a rule by slug or UUID."""
        for rule in self.rules:
            if ref in (rule.name, rule.id):
                return rule
        raise UsageError(f"no rule named or with id '{ref}'", hint="run `imagehunt rules list`")


def builtin_rules_dir() -> Path:
    """Folder of the shipped rules."""
    return Path(str(files("imagehunt") / "rules"))


def pack_version(paths: Iterable[Path]) -> str:
    """Package version plus a digest of the shipped rule and indicator files."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:8]}"


def _error_line(text: str, doc_line: int, message: str) -> int:
    """Best line for an error: the first line of the document mentioning a quoted token."""
    lines = text.splitlines()
    for token in re.findall(r"'([^']{2,80})'", message):
        for number in range(doc_line, len(lines) + 1):
            if token in lines[number - 1]:
                return number
    return doc_line


def _level(rule: SigmaRule | SigmaCorrelationRule) -> str:
    level = rule.level.name.lower() if rule.level is not None else "medium"
    return level if level in LEVELS else "medium"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _pack_rule(
    rule: SigmaRule | SigmaCorrelationRule, path: Path, line: int, builtin: bool
) -> PackRule:
    custom = rule.custom_attributes
    name = rule.name or path.stem
    rule_id = str(rule.id) if rule.id else name
    escalate = custom.get("escalate_same_process")
    return PackRule(
        sigma=rule,
        ref=RuleRef(
            id=rule_id,
            name=name,
            title=rule.title,
            level=_level(rule),
            branch=_text(custom.get("branch"))
            or ("Correlation" if isinstance(rule, SigmaCorrelationRule) else "Custom"),
            tags=tuple(str(t) for t in rule.tags),
        ),
        description=_text(rule.description),
        falsepositives=tuple(str(f) for f in (rule.falsepositives or [])),
        investigation_guide=_text(custom.get("investigation_guide")),
        response_playbook=_text(custom.get("response_playbook")),
        path=str(path),
        line=line,
        builtin=builtin,
        escalate_same_process=str(escalate) if escalate in LEVELS else None,
        assessment=_text(custom.get("assessment")) or None,
        context_only=custom.get("role") == CONTEXT_ROLE,
    )


def _load_file(path: Path, builtin: bool) -> tuple[list[PackRule], list[RuleError]]:
    errors: list[RuleError] = []
    try:
        if path.stat().st_size > MAX_RULE_FILE_BYTES:
            return [], [RuleError(f"rule file larger than {MAX_RULE_FILE_BYTES} bytes", file=path)]
        text = path.read_text(encoding="utf-8")
        documents = safe_yaml.documents(text)
    except (OSError, UnicodeDecodeError) as exc:
        return [], [RuleError(f"cannot read rule file: {exc}", file=path)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return [], [
            RuleError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=path, line=line)
        ]
    rules: list[PackRule] = []
    for doc_line, doc in documents:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            errors.append(
                RuleError("a Sigma rule must be a YAML mapping", file=path, line=doc_line)
            )
            continue
        try:
            collection = SigmaCollection.from_dicts(
                [doc],
                collect_errors=True,
                source=SigmaRuleLocation(path),
                resolve_references=False,
            )
        except SigmaError as exc:
            errors.append(
                RuleError(str(exc), file=path, line=_error_line(text, doc_line, str(exc)))
            )
            continue
        messages = [str(e) for e in collection.errors]
        messages += [str(e) for r in collection.rules for e in r.errors]
        for message in dict.fromkeys(messages):  # same error reported by rule and collection
            errors.append(RuleError(message, file=path, line=_error_line(text, doc_line, message)))
        for rule in collection.rules:
            if rule.errors or not isinstance(rule, SigmaRule | SigmaCorrelationRule):
                continue
            packed = _pack_rule(rule, path, doc_line, builtin)
            if packed.assessment is not None and packed.assessment not in ASSESSMENTS:
                errors.append(
                    RuleError(
                        f"unknown assessment '{packed.assessment}' "
                        f"(known: {', '.join(ASSESSMENTS)})",
                        file=path,
                        line=doc_line,
                    )
                )
                continue
            if not rule.name and rules:  # unnamed rules after the first in a multi-rule file
                unique = f"{path.stem}_{len(rules) + 1}"
                packed = replace(packed, ref=replace(packed.ref, name=unique))
            rules.append(packed)
    if builtin:
        for packed in rules:
            missing = [
                a for a in REQUIRED_PACK_ATTRIBUTES if not packed.sigma.custom_attributes.get(a)
            ]
            if missing or packed.name != path.stem or not packed.sigma.id:
                errors.append(
                    RuleError(
                        "shipped rule needs an id, a name equal to its file name and "
                        f"{', '.join(REQUIRED_PACK_ATTRIBUTES)} (missing: {', '.join(missing)})",
                        file=path,
                        line=packed.line,
                    )
                )
    return rules, errors


def rule_files(folder: Path) -> list[Path]:
    """Sigma files under a folder, recursively, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def load_pack(
    rule_dirs: Sequence[Path] = (),
    *,
    include_builtin: bool = True,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    min_level: str | None = None,
) -> RulePack:
    """Load shipped and user rules, resolve correlation references, apply the selection."""
    loaded: list[PackRule] = []
    errors: list[RuleError] = []
    shipped = rule_files(builtin_rules_dir())
    if include_builtin:
        for path in shipped:
            rules, errs = _load_file(path, builtin=True)
            loaded += rules
            errors += errs
    for folder in rule_dirs:
        if not folder.exists():
            raise UsageError(f"rules folder does not exist: {folder}")
        paths = [folder] if folder.is_file() else rule_files(folder)
        for path in paths:
            rules, errs = _load_file(path, builtin=False)
            loaded += rules
            errors += errs
    loaded, dup_errors = _drop_duplicates(loaded)
    errors += dup_errors
    loaded, ref_errors = _resolve_references(loaded)
    errors += ref_errors
    indicator_dir = Path(str(files("imagehunt") / "indicators"))
    version = pack_version([*shipped, *sorted(indicator_dir.glob("*.yml"))])
    pack = RulePack(rules=loaded, version=version, errors=errors)
    pack.selected = _select(pack, select, exclude, min_level)
    return pack


def _drop_duplicates(rules: list[PackRule]) -> tuple[list[PackRule], list[RuleError]]:
    seen: dict[str, PackRule] = {}
    kept: list[PackRule] = []
    errors: list[RuleError] = []
    for rule in rules:
        clash = seen.get(rule.id) or seen.get(rule.name)
        if clash is not None:
            errors.append(
                RuleError(
                    f"rule '{rule.name}' ({rule.id}) has the same id or name as "
                    f"{clash.path}:{clash.line}; it was not loaded",
                    file=rule.path,
                    line=rule.line,
                )
            )
            continue
        seen[rule.id] = seen[rule.name] = rule
        kept.append(rule)
    return kept, errors


def _resolve_references(rules: list[PackRule]) -> tuple[list[PackRule], list[RuleError]]:
    by_ref = {r.name: r for r in rules} | {r.id: r for r in rules}
    kept: list[PackRule] = []
    errors: list[RuleError] = []
    for rule in rules:
        if isinstance(rule.sigma, SigmaCorrelationRule):
            refs = [r.reference for r in (rule.sigma.rules or [])]
            missing = [ref for ref in refs if ref not in by_ref]
            if missing:
                errors.append(
                    RuleError(
                        f"correlation rule refers to unknown rules: {', '.join(missing)}",
                        file=rule.path,
                        line=rule.line,
                    )
                )
                continue
        kept.append(rule)
    return kept, errors


def referenced_rules(rule: PackRule, pack: RulePack) -> list[PackRule]:
    """Base rules a correlation rule refers to, in the order it lists them."""
    if not isinstance(rule.sigma, SigmaCorrelationRule):
        return []
    return [pack.by_ref(r.reference) for r in (rule.sigma.rules or [])]


def _select(
    pack: RulePack, select: Sequence[str], exclude: Sequence[str], min_level: str | None
) -> set[str]:
    chosen = [pack.by_ref(ref) for ref in select] if select else list(pack.rules)
    excluded = {pack.by_ref(ref).id for ref in exclude}
    if min_level is not None and min_level not in LEVELS:
        raise UsageError(f"unknown level '{min_level}'", hint=f"use one of {', '.join(LEVELS)}")
    floor = level_rank(min_level) if min_level else 0
    selected: set[str] = set()
    for rule in chosen:
        if rule.id in excluded:
            continue
        ceiling = rule.escalate_same_process or ("high" if rule.assessment else rule.ref.level)
        if max(level_rank(rule.ref.level), level_rank(ceiling)) < floor:
            continue
        selected.add(rule.id)
    # base rules of a correlation with `generate: false` alert only when asked for by name
    explicit = {pack.by_ref(ref).id for ref in select}
    for rule in pack.rules:
        if isinstance(rule.sigma, SigmaCorrelationRule) and not rule.sigma.generate:
            for base in referenced_rules(rule, pack):
                if base.id not in explicit:
                    selected.discard(base.id)
    return selected
