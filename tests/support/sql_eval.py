"""Helpers for tests: compile Sigma rules with the DuckDB backend and run them on hand-made events.

Events are dicts keyed by schema field names (see ``reference_matcher``). Each event becomes
one row of a table in the normalized Arrow schema; ``_line`` holds the event's index, so a
query's result is the set of indexes of the matching events.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from imagehunt import schema
from imagehunt.backends.duckdb import DuckDBBackend
from imagehunt.engine.session import connect

TABLE = "t"


def events_table(events: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Arrow table in the normalized schema; missing fields are NULL, ``_line`` = index."""
    unknown = {name for event in events for name in event} - set(schema.FIELD_NAMES)
    if unknown:
        raise KeyError(f"not schema fields: {sorted(unknown)}")
    columns: dict[str, list[Any]] = {
        name: [event.get(name) for event in events] for name in schema.FIELD_NAMES
    }
    columns[schema.FILE_COLUMN] = ["events.ndjson"] * len(events)
    columns[schema.LINE_COLUMN] = list(range(len(events)))
    columns[schema.FORMAT_COLUMN] = ["test"] * len(events)
    return pa.table(columns, schema=schema.arrow_schema())


def rule_from_yaml(text: str) -> SigmaRule:
    """The single detection rule in a YAML document."""
    collection = SigmaCollection.from_yaml(text)
    (rule,) = collection.rules
    assert isinstance(rule, SigmaRule)
    return rule


def rule_from_detection(detection: Mapping[str, Any], title: str = "test rule") -> SigmaRule:
    """A rule with the given ``detection`` mapping (YAML built with ``yaml.safe_dump``)."""
    document = {
        "title": title,
        "logsource": {"product": "linux", "category": "process_creation"},
        "detection": dict(detection),
        "level": "medium",
    }
    return rule_from_yaml(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def compile_rule(rule: SigmaRule, backend: DuckDBBackend | None = None) -> str:
    """SQL boolean expression of ``rule``: the backend's queries (one per condition) OR-ed."""
    queries = (backend or DuckDBBackend()).convert_rule(copy.deepcopy(rule))
    assert queries, "the backend produced no query"
    assert all(isinstance(q, str) for q in queries)
    return " OR ".join(f"({q})" for q in queries)


class EventTable:
    """A DuckDB session (imagehunt's macros loaded) with one registered table of events."""

    def __init__(self, events: Sequence[Mapping[str, Any]] = ()) -> None:
        self.con: duckdb.DuckDBPyConnection = connect(threads=1)
        self.load(events)

    def load(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Replace the table's events."""
        self.events = list(events)
        self.con.register(TABLE, events_table(self.events))

    def select(self, where: str) -> set[int]:
        """Indexes of the events for which the SQL boolean expression ``where`` is true."""
        rows = self.con.execute(f"SELECT {schema.LINE_COLUMN} FROM {TABLE} WHERE {where}")
        return {int(row[0]) for row in rows.fetchall()}

    def matching(self, rule: SigmaRule) -> set[int]:
        """Indexes of the events the backend's SQL for ``rule`` selects."""
        return self.select(compile_rule(rule))

    def close(self) -> None:
        self.con.close()


def backend_matches(rule: SigmaRule, events: Sequence[Mapping[str, Any]]) -> set[int]:
    """Indexes of ``events`` selected by the backend's SQL for ``rule`` (fresh session)."""
    table = EventTable(events)
    try:
        return table.matching(rule)
    finally:
        table.close()
