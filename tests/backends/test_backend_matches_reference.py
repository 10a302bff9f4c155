"""Property tests: the DuckDB backend's SQL selects exactly the events the reference matcher does.

Random events (a few schema fields, random subsets) and random rules (YAML text built with
``yaml.safe_dump``: quotes, wildcards, backslashes, ``%``, ``_``, unicode letters, newlines,
modifiers, and/or/not conditions) are generated together: rule values are drawn from the
same pool of words as event texts so that matches are frequent.

The input classes that once exposed backend bugs (IPv6 look-alikes such as ``:::``, integer
text with leading zeros such as ``080``) are generated on purpose; the fixed cases are pinned
in ``test_duckdb_backend.py``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sigma.rule import SigmaRule

from support.reference_matcher import matches
from support.sql_eval import EventTable, compile_rule, rule_from_yaml

Draw = Callable[[st.SearchStrategy[Any]], Any]

TEXT_FIELDS = ("process.name", "process.command_line", "process.args", "event.type")
IP_FIELD = "destination.ip"
PORT_FIELD = "destination.port"
ALL_FIELDS = (*TEXT_FIELDS, IP_FIELD, PORT_FIELD)

# Letters in both cases (ASCII and not), digits, SQL/LIKE/regex/YAML/Sigma specials, whitespace.
ALPHABET = "aAbBxX019 .-/:'\"%_\\*?éÉжЖßüÜ\n\t"
WORDS = st.text(alphabet=ALPHABET, min_size=1, max_size=5)
COMMON_PORTS = st.sampled_from([0, 1, 22, 80, 443, 8080])
PORTS = st.one_of(COMMON_PORTS, COMMON_PORTS, COMMON_PORTS, st.integers(0, 65535))
ZONES = st.sampled_from(["eth0", "1", "en0", "lo"])
SIGMA_SPECIAL = re.compile(r"([*?\\])")
REGEX_SPECIAL = re.compile(r"([.^$*+?()\[\]{}|\\])")


# ---- events ------------------------------------------------------------------------------


@st.composite
def ip_texts(draw: Draw) -> str:
    """Addresses in several spellings, and junk that must never match a CIDR."""
    kinds = ["v4", "v6", "v6upper", "mapped", "zoned", "zeros", "v6like", "junk"]
    kind = draw(st.sampled_from(kinds))
    if kind == "v4":
        return str(draw(st.ip_addresses(v=4)))
    if kind == "v6":
        return str(draw(st.ip_addresses(v=6)))
    if kind == "v6upper":
        return str(draw(st.ip_addresses(v=6)).exploded.upper())
    if kind == "mapped":
        return f"::ffff:{draw(st.ip_addresses(v=4))}"
    if kind == "zoned":
        return f"{draw(st.ip_addresses(v=6))}%{draw(ZONES)}"
    if kind == "zeros":  # a leading-zero octet: not an address
        octets = str(draw(st.ip_addresses(v=4))).split(".")
        i = draw(st.integers(0, 3))
        octets[i] = "0" + octets[i]
        prefix: str = draw(st.sampled_from(["", "::ffff:"]))
        return prefix + ".".join(octets)
    if kind == "v6like":  # near-IPv6 shapes: wrong group counts, ':::', misplaced '::', zones
        groups = draw(st.lists(st.text("0123456789abcdefAF", min_size=1, max_size=5), max_size=9))
        if groups and draw(st.booleans()):
            groups.insert(draw(st.integers(0, len(groups))), "")  # a '::'
        text = str(draw(st.sampled_from(["", "", "::", ":::", ":"]))) + ":".join(groups)
        text += draw(st.sampled_from(["", "", "::", ":::", ":", ":1.2.3.4", "%eth0", "%"]))
    else:
        text = str(draw(st.text(alphabet="0123456789abcdefABCDEF:.%xz ", max_size=16)))
    if draw(st.integers(0, 9)) == 0:  # classes that once fooled ih_ip6
        text = draw(st.sampled_from([":::", "::1:2:3:4:5:6:7:8", "1:2:3:4::5:6:7:8", "fe80::1%"]))
    return text


def pool_texts(pool: list[str]) -> st.SearchStrategy[str]:
    """Texts made of pool words (so rule values match them) and fresh words."""
    piece = st.one_of(st.sampled_from(pool), WORDS)
    return st.tuples(
        st.lists(piece, min_size=1, max_size=3), st.sampled_from(["", " ", "/", "\n"])
    ).map(lambda parts: parts[1].join(parts[0]))


@st.composite
def events(draw: Draw, pool: list[str], ips: list[str]) -> dict[str, Any]:
    text = pool_texts(pool)
    makers: dict[str, st.SearchStrategy[Any]] = {
        "process.name": st.one_of(text, PORTS.map(str)),
        "process.command_line": text,
        "process.args": st.lists(text, max_size=3),
        "event.type": st.lists(
            st.one_of(st.sampled_from(["start", "Connection"]), text), max_size=3
        ),
        IP_FIELD: st.one_of(st.sampled_from(ips), ip_texts()),
        PORT_FIELD: PORTS,
    }
    event: dict[str, Any] = {}
    for name, maker in makers.items():
        if draw(st.integers(0, 4)) > 1:
            event[name] = draw(maker)
    return event


# ---- rule values -------------------------------------------------------------------------


@st.composite
def sigma_values(draw: Draw, pool: list[str]) -> str:
    """A Sigma string value: escaped literals (maybe upper-cased) and wildcards, or raw text."""
    if draw(st.integers(0, 5)) == 0:  # raw text: Sigma interprets its wildcards and escapes
        return str(draw(st.text(alphabet=ALPHABET, max_size=6)))
    tokens = draw(
        st.lists(
            st.one_of(st.sampled_from(pool), WORDS, st.sampled_from(["*", "?"])),
            min_size=1,
            max_size=3,
        )
    )
    out = []
    for token in tokens:
        if token in ("*", "?") and draw(st.booleans()):
            out.append(token)  # a wildcard
            continue
        literal = token.upper() if draw(st.integers(0, 3)) == 0 else token
        out.append(SIGMA_SPECIAL.sub(r"\\\1", literal))
    return "".join(out)


@st.composite
def regexes(draw: Draw, pool: list[str], multiline: bool) -> str:
    """Simple patterns that Python ``re`` and RE2 read alike (no \\w, \\d, \\s, no bare ``$``)."""
    fragments = draw(
        st.lists(
            st.one_of(
                st.sampled_from(pool).map(lambda w: REGEX_SPECIAL.sub(r"\\\1", w)),
                st.sampled_from([".", ".*", ".+", "[a-z]", "[^ ]", "(?:a|B)", "x?", "[0-9]+"]),
            ),
            min_size=1,
            max_size=3,
        )
    )
    anchor_start = "^" if draw(st.integers(0, 3)) == 0 else ""
    anchor_end = "$" if multiline and draw(st.booleans()) else ""
    return anchor_start + "".join(fragments) + anchor_end


@st.composite
def networks(draw: Draw, ips: list[str]) -> str:
    """A CIDR around a pool address (so it often matches) or a random one."""
    if draw(st.integers(0, 4)) == 0:  # wide ranges: any junk a parser wrongly accepts hits them
        return str(draw(st.sampled_from(["::/0", "::/1", "0.0.0.0/0", "::ffff:0:0/96"])))
    source = draw(st.sampled_from(ips))
    try:
        address = ipaddress.ip_address(source.split("%", 1)[0])
    except ValueError:
        address = draw(st.ip_addresses())
    if draw(st.integers(0, 4)) == 0:
        address = draw(st.ip_addresses())
    prefix = draw(st.one_of(st.integers(0, address.max_prefixlen), st.sampled_from([0, 1, 8])))
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def one_or_many(draw: Draw, strategy: st.SearchStrategy[Any], max_size: int = 7) -> Any:
    values = draw(st.lists(strategy, min_size=1, max_size=max_size))
    return values[0] if len(values) == 1 and draw(st.booleans()) else values


@st.composite
def detection_items(draw: Draw, pool: list[str], ips: list[str]) -> tuple[str, Any]:
    """One ``field|modifiers: value(s)`` pair."""
    kind = draw(
        st.sampled_from(["str", "str", "str", "re", "cidr", "exists", "null", "num", "cmp"])
    )
    if kind == "str":
        name = draw(st.sampled_from(ALL_FIELDS))
        mods: list[str] = []
        position = draw(st.sampled_from(["", "", "contains", "startswith", "endswith"]))
        if position:
            mods.append(position)
        if draw(st.integers(0, 3)) == 0:
            mods.append("cased")
        value_strategy = sigma_values(pool)
        if name == PORT_FIELD:  # port numbers as text, some with leading zeros or a sign
            digits = st.tuples(st.sampled_from(["", "", "0", "00", "-"]), PORTS)
            value_strategy = st.one_of(value_strategy, digits.map(lambda sp: f"{sp[0]}{sp[1]}"))
        values = draw(st.lists(value_strategy, min_size=1, max_size=7))
        if len(values) > 1 and draw(st.integers(0, 3)) == 0:
            mods.append("all")
        if draw(st.integers(0, 6)) == 0:
            mods.append("neq")
        value: Any = values[0] if len(values) == 1 and draw(st.booleans()) else values
        return "|".join([name, *mods]), value
    if kind == "re":
        name = draw(st.sampled_from(TEXT_FIELDS))
        flags = draw(st.lists(st.sampled_from(["i", "m", "s"]), unique=True, max_size=3))
        pattern = one_or_many(draw, regexes(pool, multiline="m" in flags), max_size=3)
        return "|".join([name, "re", *flags]), pattern
    if kind == "cidr":
        return f"{IP_FIELD}|cidr", one_or_many(draw, networks(ips), max_size=3)
    if kind == "exists":
        return f"{draw(st.sampled_from(ALL_FIELDS))}|exists", draw(st.booleans())
    if kind == "null":
        return draw(st.sampled_from(ALL_FIELDS)), None
    if kind == "num":
        name = draw(st.sampled_from([PORT_FIELD, PORT_FIELD, "process.name", "event.type"]))
        return name, one_or_many(draw, PORTS, max_size=6)
    op = draw(st.sampled_from(["gt", "gte", "lt", "lte"]))
    return f"{PORT_FIELD}|{op}", draw(PORTS)


@st.composite
def selections(draw: Draw, pool: list[str], ips: list[str]) -> Any:
    if draw(st.integers(0, 7)) == 0:  # keyword search: a list of plain values
        return draw(st.lists(sigma_values(pool), min_size=1, max_size=3))
    items = draw(st.lists(detection_items(pool, ips), min_size=1, max_size=2))
    return dict(items)


def conditions(names: list[str]) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(names), st.sampled_from(["1 of sel*", "all of sel*"]))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            inner.map(lambda c: f"not ({c})"),
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]}) and ({ab[1]})"),
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]}) or ({ab[1]})"),
        ),
        max_leaves=4,
    )


@st.composite
def scenarios(draw: Draw) -> tuple[str, list[dict[str, Any]]]:
    """(rule YAML text, events)."""
    pool = draw(st.lists(WORDS, min_size=1, max_size=4, unique=True))
    ips = draw(st.lists(ip_texts(), min_size=1, max_size=3))
    sels = draw(st.lists(selections(pool, ips), min_size=1, max_size=3))
    names = [f"sel{i}" for i in range(len(sels))]
    detection: dict[str, Any] = dict(zip(names, sels, strict=True))
    detection["condition"] = draw(conditions(names))
    document = {
        "title": "generated rule",
        "logsource": {"product": "linux"},
        "detection": detection,
        "level": "low",
    }
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    evts = draw(st.lists(events(pool, ips), min_size=1, max_size=8))
    return text, evts


# ---- the property ------------------------------------------------------------------------


_SESSION: list[EventTable] = []


def _run(rule: SigmaRule, evts: list[dict[str, Any]]) -> set[int]:
    """Backend's selection; one DuckDB session serves every example (table replaced)."""
    if not _SESSION:
        _SESSION.append(EventTable())
    table = _SESSION[0]
    table.load(evts)
    return table.select(compile_rule(rule))


def _check(text: str, evts: list[dict[str, Any]]) -> None:
    rule = rule_from_yaml(text)
    expected = {i for i, event in enumerate(evts) if matches(rule, event)}
    actual = _run(rule, evts)
    assert actual == expected, (
        f"rule:\n{text}\nSQL: {compile_rule(rule)}\nevents: {evts!r}\n"
        f"backend selected {sorted(actual)}, reference {sorted(expected)}"
    )


SINGLE_FIELD_SIX_PATTERNS = """\
title: merged patterns
logsource: {product: linux}
detection:
  sel0:
    process.name: ['a*b', 'c?d', '*%_*', "x\\\\*y", 'É?', 'ж*']
  condition: sel0
"""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    scenario=(
        SINGLE_FIELD_SIX_PATTERNS,
        [
            {"process.name": "AXB"},
            {"process.name": "c\nd"},
            {"process.name": "a%_b"},
            {"process.name": "x*y"},
            {"process.name": "xzy"},
            {"process.name": "éX"},
            {"process.name": "Жук"},
        ],
    )
)
@given(scenario=scenarios())
def test_backend_selects_what_reference_matches(
    scenario: tuple[str, list[dict[str, Any]]],
) -> None:
    text, evts = scenario
    _check(text, evts)


def test_generated_scenarios_exercise_both_outcomes() -> None:
    """Guard against a vacuous property: generated rules both match and miss events."""
    outcomes: set[bool] = set()

    @settings(max_examples=60, deadline=None, database=None)
    @given(scenario=scenarios())
    def collect(scenario: tuple[str, list[dict[str, Any]]]) -> None:
        text, evts = scenario
        rule = rule_from_yaml(text)
        outcomes.update(matches(rule, event) for event in evts)

    collect()
    assert outcomes == {True, False}
