"""The ECS -> Sentinel (ASIM parsers, AWSCloudTrail) field mapping of the `kql` target, as data.

The mapping lives in ``pipelines/sentinel_asim.yml``; this module loads and checks it. A rule's
Sigma log source picks one table; each ECS field the rule tests must be mapped for that table.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from sigma.rule import SigmaLogSource

from imagehunt import safe_yaml

MAPPING_FILE = "pipelines/sentinel_asim.yml"
FORMS = ("plain", "basename", "tokens", "json_key")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
JSON_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class Column:
    """One mapped column: its KQL name and how ECS values are tested on it.

    Form ``json_key``: the field is a key (``key``) inside the JSON array or object at
    ``path`` of a string column (CloudTrail's RequestParameters); only its presence can be
    tested.
    """

    name: str
    form: str = "plain"
    path: str = ""
    key: str = ""


@dataclass(frozen=True)
class Table:
    """One log source's table (an ASIM parser or a Log Analytics table) and its columns."""

    key: str
    name: str
    source: str
    fields: dict[str, Column]


@dataclass(frozen=True)
class Mapping:
    """The whole mapping: the time column, the documentation sources, the tables."""

    time_column: str
    sources: dict[str, str]
    tables: dict[str, Table]

    def columns(self) -> frozenset[str]:
        """Every column name the mapping can write into a query."""
        names = {c.name for t in self.tables.values() for c in t.fields.values()}
        return frozenset(names | {self.time_column})


def _column(ecs: str, entry: Any) -> Column:
    if isinstance(entry, str):
        column = Column(entry)
    else:
        column = Column(
            str(entry["field"]),
            str(entry.get("form", "plain")),
            str(entry.get("path", "")),
            str(entry.get("key", "")),
        )
    if not IDENTIFIER.fullmatch(column.name) or column.form not in FORMS:
        raise ValueError(f"{MAPPING_FILE}: bad mapping of '{ecs}': {entry!r}")
    if column.form == "json_key" and not (
        JSON_PATH.fullmatch(column.path) and IDENTIFIER.fullmatch(column.key)
    ):
        raise ValueError(f"{MAPPING_FILE}: bad JSON path or key for '{ecs}': {entry!r}")
    return column


def parse_mapping(data: dict[str, Any]) -> Mapping:
    """A Mapping from the YAML document (checked: identifiers and known forms only)."""
    tables = {
        key: Table(
            key=key,
            name=str(spec["table"]),
            source=str(spec["source"]),
            fields={ecs: _column(ecs, entry) for ecs, entry in spec["fields"].items()},
        )
        for key, spec in data["tables"].items()
    }
    for table in tables.values():
        if not IDENTIFIER.fullmatch(table.name):
            raise ValueError(f"{MAPPING_FILE}: table name {table.name!r} is no identifier")
    return Mapping(str(data["time_column"]), dict(data["sources"]), tables)


@functools.cache
def load_mapping() -> Mapping:
    """The shipped mapping."""
    text = (files("imagehunt") / MAPPING_FILE).read_text(encoding="utf-8")
    return parse_mapping(safe_yaml.load(text))


def table_key(logsource: SigmaLogSource) -> str | None:
    """The mapping's key for a Sigma log source, or None when no table holds it."""
    if logsource.product == "aws" and logsource.service == "cloudtrail":
        return "aws_cloudtrail"
    category = logsource.category or ""
    return category if category in load_mapping().tables else None
