"""The two seed queries' lists and structure, read from package data (baselines/*.yml).

The YAML files hold what the seed pages say, value for value; this module only gives them
types. :mod:`imagehunt.validate.baselines` evaluates them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from imagehunt import safe_yaml
from imagehunt.errors import RuleError

_FOLDER = "baselines"


@dataclass(frozen=True)
class CaseWhen:
    """One ``WHEN`` of the AQL ``CASE``: its label, the test it names and that test's values."""

    label: str
    when: str
    patterns: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class QRadarSeed:
    """The seed AQL query as data: its exact text, lists and structure."""

    source: str
    query: str
    listed_types: tuple[int, ...]
    types_by_format: Mapping[str, int]
    unlisted_formats: tuple[str, ...]
    qradar_type_names: Mapping[str, int]  # lower-cased display name -> LOGSOURCETYPEID
    qradar_type_field: str
    process_names: tuple[str, ...]
    commands: tuple[str, ...]
    pool_ports: tuple[int, ...]
    private_ip_prefixes: tuple[str, ...]
    browser_names: tuple[str, ...]
    runinstances_type: int
    runinstances_qidname: str
    case: tuple[CaseWhen, ...]
    else_label: str


@dataclass(frozen=True)
class EqlBranch:
    """One block of the seed EQL query, read as an independent branch."""

    name: str
    event_category: str
    event_type: str
    process_names: tuple[str, ...] = ()
    arg_patterns: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    private_ip_patterns: tuple[str, ...] = ()
    browser_names: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ElasticSeed:
    """The seed EQL query: its exact text and its intended branches."""

    source: str
    query: str
    branches: Mapping[str, EqlBranch]


def _load(name: str) -> tuple[str, dict[str, Any]]:
    resource = files("imagehunt") / _FOLDER / name
    try:
        doc: Any = safe_yaml.load(resource.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"cannot read seed baseline: {exc}", file=str(resource)) from exc
    if not isinstance(doc, dict):
        raise RuleError("seed baseline must be a mapping", file=str(resource))
    return str(resource), doc


def _section(doc: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = doc.get(key)
    if not isinstance(value, Mapping):
        raise RuleError(f"seed baseline needs a '{key}' mapping", file=where)
    return value


def _strings(doc: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"seed baseline '{key}' must be a list of strings", file=where)
    return tuple(value)


def _integers(doc: Mapping[str, Any], key: str, where: str) -> tuple[int, ...]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise RuleError(f"seed baseline '{key}' must be a list of integers", file=where)
    return tuple(value)


def _int_map(doc: Mapping[str, Any], key: str, where: str) -> dict[str, int]:
    value = _section(doc, key, where)
    if not all(isinstance(v, int) for v in value.values()):
        raise RuleError(f"seed baseline '{key}' must map names to integers", file=where)
    return {str(k): int(v) for k, v in value.items()}


@cache
def qradar_seed() -> QRadarSeed:
    """The seed AQL query's lists, log source type mapping and CASE order (cached)."""
    where, doc = _load("seed_qradar.yml")
    types = _section(doc, "log_source_types", where)
    clause = _section(doc, "where", where)
    runinstances = _section(clause, "runinstances", where)
    case = doc.get("case")
    if not isinstance(case, list) or not all(isinstance(c, dict) for c in case):
        raise RuleError("seed baseline needs a 'case' list", file=where)
    return QRadarSeed(
        source=str(doc["source"]),
        query=str(doc["query"]),
        listed_types=_integers(types, "listed", where),
        types_by_format=_int_map(types, "by_format", where),
        unlisted_formats=_strings(types, "unlisted_formats", where),
        qradar_type_names={
            name.lower(): number
            for name, number in _int_map(types, "qradar_type_names", where).items()
        },
        qradar_type_field=str(types["qradar_type_field"]),
        process_names=_strings(clause, "process_names", where),
        commands=_strings(clause, "commands", where),
        pool_ports=_integers(clause, "pool_ports", where),
        private_ip_prefixes=_strings(clause, "private_ip_prefixes", where),
        browser_names=_strings(clause, "browser_names", where),
        runinstances_type=int(runinstances["logsourcetypeid"]),
        runinstances_qidname=str(runinstances["qidname"]),
        case=tuple(
            CaseWhen(
                label=str(c["label"]),
                when=str(c["when"]),
                patterns=_strings(c, "patterns", where),
                ports=_integers(c, "ports", where),
            )
            for c in case
        ),
        else_label=str(doc["else"]),
    )


@cache
def elastic_seed() -> ElasticSeed:
    """The seed EQL query's exact text and intended branches (cached)."""
    where, doc = _load("seed_elastic.yml")
    intended = _section(doc, "intended", where)
    branches = intended.get("branches")
    if not isinstance(branches, list) or not all(isinstance(b, dict) for b in branches):
        raise RuleError("seed baseline needs an 'intended.branches' list", file=where)
    return ElasticSeed(
        source=str(doc["source"]),
        query=str(doc["query"]),
        branches={
            str(b["name"]): EqlBranch(
                name=str(b["name"]),
                event_category=str(b["event_category"]),
                event_type=str(b["event_type"]),
                process_names=_strings(b, "process_names", where),
                arg_patterns=_strings(b, "arg_patterns", where),
                ports=_integers(b, "ports", where),
                private_ip_patterns=_strings(b, "private_ip_patterns", where),
                browser_names=_strings(b, "browser_names", where),
                dns_names=_strings(b, "dns_names", where),
            )
            for b in branches
        },
    )
