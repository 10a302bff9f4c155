"""Conversion targets of `imagehunt convert`: what each produces, rule by rule.

A target turns one pack rule into text (a query, a rule document); ``convert_pack`` runs it
over the selected rules, collects per-rule failures (with the rule's file and line) and
joins what converted. One rule failing never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sigma.exceptions import SigmaError

from imagehunt.errors import RuleError
from imagehunt.rulepack import PackRule, RulePack

Converter = Callable[[PackRule, RulePack, str], str]


def short_span(seconds: int) -> str:
    """A time span as EQL, KQL and SPL write it: minutes when whole (``5m``), else ``300s``."""
    return f"{seconds // 60}m" if seconds % 60 == 0 and seconds else f"{seconds}s"


def conversion_error(rule: PackRule, language: str, message: str) -> RuleError:
    """The error of one rule that cannot be written in ``language``, at its file and line."""
    return RuleError(
        f"rule '{rule.name}' cannot be converted to {language}: {message}",
        file=rule.path,
        line=rule.line,
    )


@dataclass(frozen=True)
class Target:
    """One output language: its name, output formats (the first is the default), converter."""

    name: str
    description: str
    formats: tuple[str, ...]
    convert: Converter
    separator: str = "\n\n"
    header: Callable[[str], str] | None = None  # text before the first rule, per format
    separators: dict[str, str] | None = None  # a format's own separator, if not ``separator``
    context_rules: bool = True  # False: context rules (they never alert) are skipped
    correlations: bool = True  # False: the language has no form for correlations (skipped)


@dataclass
class PackConversion:
    """Converted text of the rules that converted, and the errors of those that did not."""

    text: str
    converted: list[str]
    errors: list[RuleError]
    skipped: list[tuple[str, str]]  # (rule, why) the target leaves out by design


def convert_pack(
    pack: RulePack, target: Target, fmt: str, rules: Sequence[PackRule]
) -> PackConversion:
    """Convert ``rules`` with ``target`` in output format ``fmt``."""
    parts: list[str] = []
    converted: list[str] = []
    errors: list[RuleError] = []
    skipped: list[tuple[str, str]] = []
    for rule in rules:
        if rule.context_only and not target.context_rules:
            skipped.append(
                (rule.name, f"a context rule (it never alerts) has no {target.name} form")
            )
            continue
        if rule.is_correlation and not target.correlations:
            skipped.append((rule.name, f"{target.name} has no correlations (use eql or kql)"))
            continue
        try:
            parts.append(target.convert(rule, pack, fmt))
        except RuleError as exc:
            errors.append(exc)
            continue
        except (SigmaError, NotImplementedError, ValueError) as exc:
            errors.append(conversion_error(rule, target.name, str(exc)))
            continue
        converted.append(rule.name)
    header = target.header(fmt) if target.header is not None and parts else ""
    separator = (target.separators or {}).get(fmt, target.separator)
    return PackConversion(header + separator.join(parts), converted, errors, skipped)
