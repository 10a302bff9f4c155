"""A DuckDB connection prepared for imagehunt's SQL: IP helpers for CIDR tests, no network.

CIDR tests compile to range checks on a portable representation (docs/architecture.md):
IPv4 as a BIGINT, IPv6 as 32 lowercase hex digits. Both are computed by SQL macros, so the
same logic can be written in Spark SQL; DuckDB's ``inet`` extension cannot load offline.
"""

from __future__ import annotations

import duckdb

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"

# Single-element list_transform binds a value to a lambda parameter, so that a value used
# several times is computed once (a macro parameter would be expanded at every use).
_IP6_GROUPS = (
    "CASE WHEN NOT regexp_full_match(t, '[0-9a-f:]+') OR contains(t, ':::') THEN NULL "
    "WHEN len(string_split(t, '::')) > 2 THEN NULL "
    "WHEN contains(t, '::') AND len(list_filter(string_split(replace(t, '::', ':'), ':'), "
    "lambda e: e <> '')) > 7 THEN NULL "
    "WHEN NOT contains(t, '::') THEN string_split(t, ':') "
    "ELSE list_concat("
    "CASE WHEN starts_with(t, '::') THEN [] ELSE string_split(split_part(t, '::', 1), ':') END, "
    "list_transform(range(8 - len(list_filter(string_split(replace(t, '::', ':'), ':'), "
    "lambda e: e <> ''))), lambda i: '0'), "
    "CASE WHEN ends_with(t, '::') THEN [] ELSE string_split(split_part(t, '::', 2), ':') END) "
    "END"
)
_IP6_HEX = (
    "CASE WHEN g IS NULL OR len(g) <> 8 OR NOT list_bool_and(list_transform(g, "
    "lambda e: regexp_full_match(e, '[0-9a-f]{1,4}'))) THEN NULL "
    "ELSE array_to_string(list_transform(g, lambda e: lpad(e, 4, '0')), '') END"
)
_IP6_V4TAIL = (
    f"CASE WHEN regexp_matches(s, ':{_IPV4}$') THEN list_transform("
    "[ih_ip4(regexp_extract(s, '[0-9.]+$'))], lambda v: regexp_replace(s, '[0-9.]+$', '') || "
    "printf('%x:%x', v // 65536, v % 65536))[1] "
    "WHEN contains(s, '.') THEN NULL ELSE s END"
)

MACROS: tuple[str, ...] = (
    # IPv4 dotted quad (no leading zeros) -> integer; NULL otherwise.
    "CREATE OR REPLACE MACRO ih_ip4(ip) AS CASE WHEN regexp_full_match(ip, "
    f"'{_IPV4}') THEN list_reduce(list_transform(string_split(ip, '.'), "
    "lambda o: CAST(o AS BIGINT)), lambda a, b: a * 256 + b) END",
    # IPv6 text (zone id and embedded IPv4 allowed) -> 32 hex digits; NULL otherwise.
    "CREATE OR REPLACE MACRO ih_ip6(ip) AS CASE WHEN contains(ip, ':') THEN list_transform("
    "[lower(regexp_replace(ip, '%[^%]+$', ''))], lambda s: list_transform("
    f"[{_IP6_V4TAIL}], lambda t: list_transform([{_IP6_GROUPS}], lambda g: {_IP6_HEX})[1])[1]"
    ")[1] END",
)


def connect(
    threads: int | None = None, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """New in-memory DuckDB connection with imagehunt's helper macros, extensions never fetched."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        # Rows must come back in file order (the fast path numbers them by position). A
        # long IN list is otherwise rewritten into a join, which reorders; evaluated as a
        # list it keeps the plan order-preserving, and was faster here too.
        "preserve_insertion_order": True,
        "disabled_optimizers": "in_clause",
    }
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    # stdout carries the results: DuckDB's own progress bar must never print there
    # (progress_bar_time turns the bar back on, so printing is switched off as well)
    con.execute("SET enable_progress_bar = false")
    con.execute("SET enable_progress_bar_print = false")
    for macro in MACROS:
        con.execute(macro)
    return con
