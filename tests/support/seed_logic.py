"""The two seed queries of shared/seeds/ as Python predicates, defects and all.

The seeds are the baseline imagehunt must beat (shared/reference/seed_defects.md). The tests
need to show, event by event, that a seed gets a case wrong and imagehunt gets it right, so
these predicates reproduce what each seed query does, not what it should do.

Events are normalized dicts keyed by ECS field names ("process.name", "process.args", ...).
:func:`flatten_event` turns an ECS document (nested objects, dotted keys, or a mix) into one;
array fields ("event.category", "event.type", "process.args") become lists and ports ints.

Elastic EQL (seeds/elastic_t1204_003.txt), read with its *intended* structure:

* ``nor`` is not EQL (E1) and a one-step ``sequence`` is invalid in Elasticsearch (E2); the
  three bracketed blocks are read as three independent branches joined by ``or``, and the
  ``sequence by host.name with maxspan=5m ... by process.entity_id`` wrapper adds nothing to
  one step, so it is dropped;
* ``==`` and ``in`` are case-sensitive (Elasticsearch EQL); on an array field they hold when
  any element does;
* ``:`` is a case-insensitive wildcard match (``*`` any run, ``?`` one character), applied to
  each element of an array field, and to ``destination.ip`` as a string too: the pattern
  ``"10.0.0.0/8"`` holds no wildcard, so it matches only the literal text "10.0.0.0/8", which no
  real address is (E11). ``cidr_as_intended=True`` swaps in real CIDR tests, to show what the
  author meant (E12);
* ``not <field> in (...)`` / ``not <field> : (...)`` hold when the field is missing
  (Elasticsearch translates them to ``must_not``);
* the network and DNS branches require ``event.type == "connection"`` (E9, E10).

QRadar AQL (seeds/qradar_t1204_003.txt):

* ``ILIKE ANY (...)`` is a case-insensitive SQL LIKE (``%`` any run, ``_`` one character)
  against any pattern; "Process Name" is process.name, "Command" is process.command_line,
  destinationip / destinationport are destination.ip / destination.port, ``QIDNAME(qid)`` is
  event.action;
* ``"Process Name" NOT ILIKE ANY (browsers)`` is read as the author meant it,
  ``NOT ("Process Name" ILIKE ANY (browsers))``;
* SQL three-valued logic: a comparison with a missing (NULL) field is unknown, and a row passes
  WHERE only when the condition is true. So the network branch never fires on an event without
  a process name or a destination address;
* ``LOGSOURCETYPEID`` and the 24-hour time bound are ignored (every event counts as coming from
  a listed log source); the RunInstances branch is ``event.action ILIKE '%RunInstances%'``;
* :func:`aql_label` is the ``CASE``: the first ``WHEN`` that holds, else ``'Unknown'`` (A6).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

Event = Mapping[str, Any]

ARRAY_FIELDS = frozenset({"event.category", "event.type", "process.args"})
INTEGER_FIELDS = frozenset({"destination.port", "source.port", "process.pid"})

# ---- Elastic EQL seed ------------------------------------------------------------------------
EQL_MINER_NAMES = (
    "xmrig",
    "xmrig-notls",
    "minerd",
    "cpuminer",
    "cryptonight",
    "nbminer",
    "t-rex",
    "lolminer",
    "ethminer",
    "cgminer",
    "bfgminer",
    "claymore",
    "phoenixminer",
    "teamtntbot",
)
EQL_ARG_PATTERNS = (
    "stratum+tcp://*",
    "stratum+ssl://*",
    "--donate-level",
    "-o pool.*",
    "*xmrpool*",
    "*supportxmr*",
    "*minexmr*",
    "*moneroocean*",
    "*hashvault*",
    "*nanopool*",
)
EQL_POOL_PORTS = (3333, 3334, 4444, 4445, 14444, 45560, 5555, 8333, 7777, 9999, 13333, 19999)
EQL_PRIVATE_IP_PATTERNS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8")
EQL_BROWSER_NAMES = (
    "firefox.exe",
    "chrome.exe",
    "msedge.exe",
    "brave.exe",
    "opera.exe",
    "iexplore.exe",
)
EQL_POOL_DNS_NAMES = (
    "minexmr.com",
    "supportxmr.com",
    "nanopool.org",
    "f2pool.com",
    "antpool.com",
    "pool.minergate.com",
    "xmrpool.eu",
    "hashvault.pro",
    "moneroocean.stream",
    "xmr.pool",
)

# ---- QRadar AQL seed -------------------------------------------------------------------------
AQL_WHERE_PROCESS_NAMES = (
    "%xmrig%",
    "%xmrig-notls%",
    "%minerd%",
    "%cpuminer%",
    "%nbminer%",
    "%t-rex%",
    "%lolminer%",
    "%ethminer%",
    "%cgminer%",
    "%bfgminer%",
    "%phoenixminer%",
    "%teamtntbot%",
    "%cryptonight%",
)
AQL_WHERE_COMMANDS = (
    "%stratum+tcp%",
    "%stratum+ssl%",
    "%--donate-level%",
    "%xmrpool%",
    "%supportxmr%",
    "%minexmr%",
    "%moneroocean%",
    "%hashvault%",
    "%nanopool%",
)
AQL_CASE_PROCESS_NAMES = (
    "%xmrig%",
    "%minerd%",
    "%cpuminer%",
    "%nbminer%",
    "%t-rex%",
    "%lolminer%",
    "%ethminer%",
    "%cgminer%",
    "%bfgminer%",
    "%phoenixminer%",
    "%teamtntbot%",
)
AQL_CASE_COMMANDS = (
    "%stratum+tcp%",
    "%stratum+ssl%",
    "%donate-level%",
    "%xmrpool%",
    "%supportxmr%",
    "%minexmr%",
    "%moneroocean%",
    "%hashvault%",
    "%nanopool%",
)
AQL_POOL_PORTS = EQL_POOL_PORTS
AQL_PRIVATE_IP_PREFIXES = ("10.%", "172.16.%", "172.17.%", "192.168.%", "127.%")
AQL_BROWSER_NAMES = ("%firefox%", "%chrome%", "%msedge%", "%brave%", "%opera%", "%iexplore%")


# ---- normalization ---------------------------------------------------------------------------
def _flatten(doc: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in doc.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def flatten_event(doc: Mapping[str, Any]) -> dict[str, Any]:
    """ECS document (nested, dotted or mixed) -> dict keyed by dotted ECS field names.

    Keys starting with ``_`` (sample annotations such as ``_case``) are dropped; array fields
    are always lists; numeric fields holding decimal text become ints (Elasticsearch and QRadar
    both store ports as numbers).
    """
    event: dict[str, Any] = {}
    for name, value in _flatten(doc):
        if name.startswith("_") or value is None:
            continue
        if name in ARRAY_FIELDS and not isinstance(value, list):
            value = [value]
        if name in INTEGER_FIELDS and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        event.setdefault(name, value)
    return event


def _values(event: Event, name: str) -> list[Any]:
    value = event.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


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


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    return _pattern_regex(pattern, "*", "?")


def wildcard_match(text: str, pattern: str) -> bool:
    """Elasticsearch EQL ``:``: whole-string, case-insensitive, ``*`` and ``?`` wildcards."""
    return _wildcard_regex(pattern).fullmatch(text) is not None


def _like_regex(pattern: str) -> re.Pattern[str]:
    return _pattern_regex(pattern, "%", "_")


def ilike(text: Any, pattern: str) -> bool | None:
    """SQL ``text ILIKE pattern``; None (unknown) when text is NULL."""
    if text is None:
        return None
    return _like_regex(pattern).fullmatch(str(text)) is not None


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


# ---- Elastic EQL seed: branches --------------------------------------------------------------
def _eql_eq(event: Event, name: str, value: Any) -> bool:
    return any(v == value for v in _values(event, name))


def _eql_in(event: Event, name: str, values: Sequence[Any]) -> bool:
    return any(v in values for v in _values(event, name))


def _eql_like(event: Event, name: str, patterns: Sequence[str]) -> bool:
    return any(wildcard_match(str(v), p) for v in _values(event, name) for p in patterns)


def _in_intended_private_range(event: Event) -> bool:
    for value in _values(event, "destination.ip"):
        try:
            address = ipaddress.ip_address(str(value))
        except ValueError:
            continue
        if any(address in ipaddress.ip_network(net) for net in EQL_PRIVATE_IP_PATTERNS):
            return True
    return False


def eql_process_branch(event: Event) -> bool:
    """Block 1: a process start with a listed miner name or a listed argument pattern."""
    return (
        _eql_eq(event, "event.category", "process")
        and _eql_eq(event, "event.type", "start")
        and (
            _eql_in(event, "process.name", EQL_MINER_NAMES)
            or _eql_like(event, "process.args", EQL_ARG_PATTERNS)
        )
    )


def eql_network_branch(event: Event, *, cidr_as_intended: bool = False) -> bool:
    """Block 2: a ``connection`` to a listed port, not private, not a browser by name.

    With the default ``cidr_as_intended=False`` the private-range test is what Elasticsearch
    runs (a string pattern without wildcards, matching nothing real); with True it is the
    CIDR test the author meant.
    """
    if cidr_as_intended:
        private = _in_intended_private_range(event)
    else:
        private = _eql_like(event, "destination.ip", EQL_PRIVATE_IP_PATTERNS)
    return (
        _eql_eq(event, "event.category", "network")
        and _eql_eq(event, "event.type", "connection")
        and _eql_in(event, "destination.port", EQL_POOL_PORTS)
        and not private
        and not _eql_in(event, "process.name", EQL_BROWSER_NAMES)
    )


def eql_dns_branch(event: Event) -> bool:
    """Block 3: a ``connection`` event whose DNS question is exactly a listed name."""
    return (
        _eql_eq(event, "event.category", "network")
        and _eql_eq(event, "event.type", "connection")
        and _eql_in(event, "dns.question.name", EQL_POOL_DNS_NAMES)
    )


def eql_branches(event: Event, *, cidr_as_intended: bool = False) -> list[str]:
    """Names of the EQL branches ("process", "network", "dns") that match the event."""
    checks = {
        "process": eql_process_branch(event),
        "network": eql_network_branch(event, cidr_as_intended=cidr_as_intended),
        "dns": eql_dns_branch(event),
    }
    return [name for name, hit in checks.items() if hit]


def eql_matches(event: Event, *, cidr_as_intended: bool = False) -> bool:
    """The EQL seed as a whole (branches joined by ``or``) flags the event."""
    return bool(eql_branches(event, cidr_as_intended=cidr_as_intended))


# ---- QRadar AQL seed: branches ---------------------------------------------------------------
def _first(event: Event, name: str) -> Any:
    values = _values(event, name)
    return values[0] if values else None


def aql_process_branch(event: Event) -> bool | None:
    """``"Process Name" ILIKE ANY (13 miner substrings)`` of the WHERE clause."""
    return ilike_any(_first(event, "process.name"), AQL_WHERE_PROCESS_NAMES)


def aql_command_branch(event: Event) -> bool | None:
    """``"Command" ILIKE ANY (9 substrings)`` of the WHERE clause."""
    return ilike_any(_first(event, "process.command_line"), AQL_WHERE_COMMANDS)


def _port_listed(event: Event) -> bool | None:
    port = _first(event, "destination.port")
    return None if port is None else port in AQL_POOL_PORTS


def aql_network_branch(event: Event) -> bool | None:
    """Listed port AND NOT (ip ILIKE private prefixes) AND name NOT ILIKE browsers."""
    ip = _first(event, "destination.ip")
    private = _sql_or(*(ilike(ip, prefix) for prefix in AQL_PRIVATE_IP_PREFIXES))
    browser = ilike_any(_first(event, "process.name"), AQL_BROWSER_NAMES)
    return _sql_and(_port_listed(event), _sql_not(private), _sql_not(browser))


def aql_runinstances_branch(event: Event) -> bool | None:
    """``QIDNAME(qid) ILIKE '%RunInstances%'`` (LOGSOURCETYPEID ignored)."""
    return ilike(_first(event, "event.action"), "%RunInstances%")


def aql_matches(event: Event) -> bool:
    """The AQL WHERE clause passes the row (true, not unknown)."""
    return (
        _sql_or(
            aql_process_branch(event),
            aql_command_branch(event),
            aql_network_branch(event),
            aql_runinstances_branch(event),
        )
        is True
    )


def aql_label(event: Event) -> str:
    """The ``CASE ... END AS DetectionBranch`` value: the first WHEN that holds."""
    if ilike_any(_first(event, "process.name"), AQL_CASE_PROCESS_NAMES) is True:
        return "MinerProcessExecution"
    if _port_listed(event) is True:
        return "MiningPoolNetworkConnection"
    if ilike_any(_first(event, "process.command_line"), AQL_CASE_COMMANDS) is True:
        return "MinerCommandLineArgs"
    if aql_runinstances_branch(event) is True:
        return "AWSInstanceLaunch"
    return "Unknown"
