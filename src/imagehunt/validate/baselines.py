"""The two seed queries of the seed pages as Python predicates, defects and all.

The seeds are the baseline imagehunt must beat (shared/reference/seed_defects.md). The coverage
matrix shows, per atomic test and log format, what each seed query gets wrong, so these
predicates reproduce what each query does, not what it should do. Their lists live in
``imagehunt/baselines/seed_*.yml`` (package data, never shipped as detections).

Events are dicts keyed by ECS field names ("process.name", "process.args", ...): rows from
imagehunt's readers are already so (with ``_format``); :func:`flatten_event` turns an ECS
document (nested objects, dotted keys, or a mix) into one.

Elastic EQL (seed_elastic.yml). The query as written does not parse (``nor``, E1):
:func:`eql_parse_error` says so. Its *intended* logic, read branch by branch:

* the three bracketed blocks are independent branches joined by ``or``; the one-step
  ``sequence by host.name with maxspan=5m ... by process.entity_id`` wrapper adds nothing (E2)
  and is dropped;
* ``==`` and ``in`` are case-sensitive (Elasticsearch EQL); on an array field they hold when
  any element does;
* ``:`` is a case-insensitive wildcard match (``*`` any run, ``?`` one character), applied to
  each element of an array field, and to ``destination.ip`` as a string too: the pattern
  ``"10.0.0.0/8"`` holds no wildcard, so it matches only that literal text (E11).
  ``cidr_as_intended=True`` swaps in real CIDR tests, to show what the author meant (E12);
* ``not <field> in (...)`` / ``not <field> : (...)`` hold when the field is missing
  (Elasticsearch translates them to ``must_not``);
* the network and DNS branches require ``event.type == "connection"`` (E9, E10).

QRadar AQL (seed_qradar.yml):

* ``ILIKE ANY (...)`` is a case-insensitive SQL LIKE (``%`` any run, ``_`` one character)
  against any pattern; "Process Name" is process.name, "Command" is process.command_line,
  destinationip / destinationport are destination.ip / destination.port, ``QIDNAME(qid)`` is
  event.action (CloudTrail's eventName);
* ``"Process Name" NOT ILIKE ANY (browsers)`` is read as the author meant it,
  ``NOT ("Process Name" ILIKE ANY (browsers))``;
* SQL three-valued logic: a comparison with a missing (NULL) field is unknown, and a row passes
  WHERE only when the condition is true;
* the 24-hour time bound is ignored. The branch predicates and :func:`aql_matches` /
  :func:`aql_label` also ignore ``LOGSOURCETYPEID`` (every event counts as coming from a listed
  log source); :func:`aql_result` applies it, from the row's ``_format``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import eql  # type: ignore[import-untyped]

from imagehunt.schema import FORMAT_COLUMN
from imagehunt.sources.normalize import ascii_int, flatten
from imagehunt.validate.seed_data import EqlBranch, elastic_seed, qradar_seed

Event = Mapping[str, Any]

ARRAY_FIELDS = frozenset({"event.category", "event.type", "process.args"})
INTEGER_FIELDS = frozenset({"destination.port", "source.port", "process.pid"})


# ---- normalization ---------------------------------------------------------------------------
def flatten_event(doc: Mapping[str, Any]) -> dict[str, Any]:
    """ECS document (nested, dotted or mixed) -> dict keyed by dotted ECS field names.

    Keys starting with ``_`` (sample annotations such as ``_case``) are dropped; array fields
    are always lists; numeric fields holding decimal text become ints (Elasticsearch and QRadar
    both store ports as numbers).
    """
    event: dict[str, Any] = {}
    for name, value in flatten(doc):
        if name.startswith("_") or value is None:
            continue
        if name in ARRAY_FIELDS and not isinstance(value, list):
            value = [value]
        if name in INTEGER_FIELDS and isinstance(value, str):
            number = ascii_int(value.strip())
            value = value if number is None else number
        event.setdefault(name, value)
    return event


def _values(event: Event, name: str) -> list[Any]:
    value = event.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _first(event: Event, name: str) -> Any:
    values = _values(event, name)
    return values[0] if values else None


# ---- matching primitives ---------------------------------------------------------------------
@cache
def _pattern_regex(pattern: str, many: str, one: str) -> re.Pattern[str]:
    """Case-insensitive whole-text regex of a pattern with ``many``/``one`` wildcards."""
    parts = []
    for char in pattern:
        if char == many:
            parts.append(".*")
        elif char == one:
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def wildcard_match(text: str, pattern: str) -> bool:
    """Elasticsearch EQL ``:``: whole-string, case-insensitive, ``*`` and ``?`` wildcards."""
    return _pattern_regex(pattern, "*", "?").fullmatch(text) is not None


def ilike(text: Any, pattern: str) -> bool | None:
    """SQL ``text ILIKE pattern``; None (unknown) when text is NULL."""
    if text is None:
        return None
    return _pattern_regex(pattern, "%", "_").fullmatch(str(text)) is not None


def ilike_any(text: Any, patterns: Iterable[str]) -> bool | None:
    """SQL ``text ILIKE ANY (patterns)``; None (unknown) when text is NULL."""
    if text is None:
        return None
    return any(ilike(text, p) for p in patterns)


def _sql_not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _sql_and(*values: bool | None) -> bool | None:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def _sql_or(*values: bool | None) -> bool | None:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


# ---- Elastic EQL seed ------------------------------------------------------------------------
def _branch(name: str) -> EqlBranch:
    return elastic_seed().branches[name]


def _eql_eq(event: Event, name: str, value: Any) -> bool:
    return any(v == value for v in _values(event, name))


def _eql_in(event: Event, name: str, values: Sequence[Any]) -> bool:
    return any(v in values for v in _values(event, name))


def _eql_like(event: Event, name: str, patterns: Sequence[str]) -> bool:
    return any(wildcard_match(str(v), p) for v in _values(event, name) for p in patterns)


def _eql_kind(event: Event, branch: EqlBranch) -> bool:
    return _eql_eq(event, "event.category", branch.event_category) and _eql_eq(
        event, "event.type", branch.event_type
    )


def _in_intended_private_range(event: Event, networks: Sequence[str]) -> bool:
    for value in _values(event, "destination.ip"):
        try:
            address = ipaddress.ip_address(str(value))
        except ValueError:
            continue
        if any(address in ipaddress.ip_network(net) for net in networks):
            return True
    return False


def eql_process_branch(event: Event) -> bool:
    """Block 1: a process start with a listed miner name or a listed argument pattern."""
    branch = _branch("process")
    return _eql_kind(event, branch) and (
        _eql_in(event, "process.name", branch.process_names)
        or _eql_like(event, "process.args", branch.arg_patterns)
    )


def eql_network_branch(event: Event, *, cidr_as_intended: bool = False) -> bool:
    """Block 2: a ``connection`` to a listed port, not private, not a browser by name.

    With the default ``cidr_as_intended=False`` the private-range test is what Elasticsearch
    runs (a string pattern without wildcards, matching nothing real); with True it is the
    CIDR test the author meant.
    """
    branch = _branch("network")
    if cidr_as_intended:
        private = _in_intended_private_range(event, branch.private_ip_patterns)
    else:
        private = _eql_like(event, "destination.ip", branch.private_ip_patterns)
    return (
        _eql_kind(event, branch)
        and _eql_in(event, "destination.port", branch.ports)
        and not private
        and not _eql_in(event, "process.name", branch.browser_names)
    )


def eql_dns_branch(event: Event) -> bool:
    """Block 3: a ``connection`` event whose DNS question is exactly a listed name."""
    branch = _branch("dns")
    return _eql_kind(event, branch) and _eql_in(event, "dns.question.name", branch.dns_names)


def eql_branches(event: Event, *, cidr_as_intended: bool = False) -> list[str]:
    """Names of the EQL branches ("process", "network", "dns") that match the event."""
    checks = {
        "process": eql_process_branch(event),
        "network": eql_network_branch(event, cidr_as_intended=cidr_as_intended),
        "dns": eql_dns_branch(event),
    }
    return [name for name, hit in checks.items() if hit]


def eql_intended_branches(row: Event) -> list[str]:
    """Branches of the seed EQL's intended logic that match, with Elasticsearch semantics."""
    return eql_branches(row, cidr_as_intended=False)


def eql_matches(event: Event, *, cidr_as_intended: bool = False) -> bool:
    """The EQL seed's intended logic as a whole (branches joined by ``or``) flags the event."""
    return bool(eql_branches(event, cidr_as_intended=cidr_as_intended))


@cache
def eql_parse_error() -> str:
    """Message of parsing the seed EQL text as Elasticsearch would (``eql`` 1.0.1).

    The text does not parse (``nor`` is not EQL); the message carries eql's line, column and
    caret. Raises RuntimeError if it ever parses, since then the baseline data is wrong.
    """
    try:
        with eql.parser.elasticsearch_syntax:
            eql.parse_query(elastic_seed().query)
    except eql.EqlParseError as exc:
        return str(exc)
    raise RuntimeError("the seed EQL query parses: the baseline no longer shows defect E1")


# ---- QRadar AQL seed -------------------------------------------------------------------------
def aql_process_branch(event: Event) -> bool | None:
    """``"Process Name" ILIKE ANY (13 miner substrings)`` of the WHERE clause."""
    return ilike_any(_first(event, "process.name"), qradar_seed().process_names)


def aql_command_branch(event: Event) -> bool | None:
    """``"Command" ILIKE ANY (9 substrings)`` of the WHERE clause."""
    return ilike_any(_first(event, "process.command_line"), qradar_seed().commands)


def _port_in(event: Event, ports: Sequence[int]) -> bool | None:
    port = _first(event, "destination.port")
    return None if port is None else port in ports


def aql_network_branch(event: Event) -> bool | None:
    """Listed port AND NOT (ip ILIKE private prefixes) AND name NOT ILIKE browsers."""
    seed = qradar_seed()
    ip = _first(event, "destination.ip")
    private = _sql_or(*(ilike(ip, prefix) for prefix in seed.private_ip_prefixes))
    browser = ilike_any(_first(event, "process.name"), seed.browser_names)
    return _sql_and(_port_in(event, seed.pool_ports), _sql_not(private), _sql_not(browser))


def aql_runinstances_branch(event: Event) -> bool | None:
    """``QIDNAME(qid) ILIKE '%RunInstances%'`` (its LOGSOURCETYPEID = 347 test ignored)."""
    return ilike(_first(event, "event.action"), qradar_seed().runinstances_qidname)


def _runinstances(event: Event, type_id: int | None) -> bool | None:
    """The RunInstances branch; ``type_id`` None ignores its log source type test."""
    if type_id is None:
        return aql_runinstances_branch(event)
    return _sql_and(type_id == qradar_seed().runinstances_type, aql_runinstances_branch(event))


def _where(event: Event, type_id: int | None) -> bool:
    return (
        _sql_or(
            aql_process_branch(event),
            aql_command_branch(event),
            aql_network_branch(event),
            _runinstances(event, type_id),
        )
        is True
    )


def _case(event: Event, type_id: int | None) -> str:
    seed = qradar_seed()
    for when in seed.case:
        if when.when == "process_name":
            hit = ilike_any(_first(event, "process.name"), when.patterns)
        elif when.when == "destination_port":
            hit = _port_in(event, when.ports)
        elif when.when == "command":
            hit = ilike_any(_first(event, "process.command_line"), when.patterns)
        elif when.when == "runinstances":
            hit = _runinstances(event, type_id)
        else:
            raise RuntimeError(f"seed_qradar.yml: unknown CASE test {when.when!r}")
        if hit is True:
            return when.label
    return seed.else_label


def aql_matches(event: Event) -> bool:
    """The AQL WHERE clause passes the row (true, not unknown); log source type ignored."""
    return _where(event, None)


def aql_label(event: Event) -> str:
    """The ``CASE ... END AS DetectionBranch`` value: the first WHEN that holds (A6)."""
    return _case(event, None)


@dataclass(frozen=True)
class BaselineResult:
    """What the seed AQL does with one row.

    ``visible``: the row's log source type is one the query lists (``LOGSOURCETYPEID IN
    (12, 347, 433)``); ``logsourcetypeid``: that type, None when the format has none;
    ``matched``: the row is in the query's result (never when invisible); ``label``: its
    ``DetectionBranch`` (None when not matched); ``reason``: one line saying why, for the matrix.
    """

    visible: bool
    logsourcetypeid: int | None
    matched: bool
    label: str | None
    reason: str


def aql_log_source_type(row: Event) -> tuple[int | None, str]:
    """LOGSOURCETYPEID the row would arrive under in QRadar, and why (from ``_format``)."""
    seed = qradar_seed()
    fmt = row.get(FORMAT_COLUMN)
    if not isinstance(fmt, str) or not fmt:
        return None, "row has no log format: its log source type is unknown"
    if fmt == "qradar":
        name = _first(row, seed.qradar_type_field)
        if not isinstance(name, str) or not name.strip():
            return None, "QRadar export row without a log source type"
        type_id = seed.qradar_type_names.get(name.strip().lower())
        if type_id is None:
            return None, f"QRadar log source type {name.strip()!r} is not one the query lists"
        return type_id, f"QRadar log source type {name.strip()!r} is LOGSOURCETYPEID {type_id}"
    type_id = seed.types_by_format.get(fmt)
    if type_id is None:
        return None, f"format {fmt!r} arrives under no LOGSOURCETYPEID the query lists"
    return type_id, f"format {fmt!r} arrives as LOGSOURCETYPEID {type_id}"


def aql_result(row: Mapping[str, Any]) -> BaselineResult:
    """Run the seed AQL over one row: log source visibility, WHERE, then CASE."""
    type_id, reason = aql_log_source_type(row)
    visible = type_id is not None and type_id in qradar_seed().listed_types
    if not visible:
        return BaselineResult(False, type_id, False, None, f"invisible: {reason}")
    if not _where(row, type_id):
        return BaselineResult(True, type_id, False, None, f"WHERE does not pass; {reason}")
    label = _case(row, type_id)
    return BaselineResult(True, type_id, True, label, f"DetectionBranch {label}; {reason}")
