"""A DuckDB connection prepared for imagehunt's SQL: IP helpers for CIDR tests, no network.

CIDR tests compile to range checks on a portable representation (docs/architecture.md):
IPv4 as a BIGINT, IPv6 as 32 lowercase hex digits. Both are computed by SQL macros, so the
same logic can be written in Spark SQL; DuckDB's ``inet`` extension cannot load offline.
"""

from __future__ import annotations

import duckdb

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"

MACROS: tuple[str, ...] = (
    # IPv4 dotted quad (no leading zeros) -> integer; NULL otherwise.
    "CREATE OR REPLACE MACRO ih_ip4(ip) AS CASE WHEN regexp_full_match(ip, "
    f"'{_IPV4}') THEN list_reduce(list_transform(string_split(ip, '.'), "
    "lambda o: CAST(o AS BIGINT)), lambda a, b: a * 256 + b) END",
    # An embedded dotted quad at the end of an IPv6 text -> two hex groups.
    "CREATE OR REPLACE MACRO ih_ip6_v4tail(s) AS CASE "
    f"WHEN regexp_matches(s, ':{_IPV4}$') THEN "
    "regexp_replace(s, '[0-9.]+$', '') || printf('%x:%x', "
    "ih_ip4(regexp_extract(s, '[0-9.]+$')) // 65536, ih_ip4(regexp_extract(s, '[0-9.]+$')) % 65536) "
    "WHEN contains(s, '.') THEN NULL ELSE s END",
    # Groups of an IPv6 text without zone: expand '::', check each group, or NULL.
    "CREATE OR REPLACE MACRO ih_ip6_groups(s) AS CASE "
    "WHEN s IS NULL OR NOT regexp_full_match(s, '[0-9a-f:]+') THEN NULL "
    "WHEN len(string_split(s, '::')) > 2 THEN NULL "
    "WHEN NOT contains(s, '::') THEN string_split(s, ':') "
    "ELSE list_concat("
    "CASE WHEN starts_with(s, '::') THEN [] ELSE string_split(split_part(s, '::', 1), ':') END, "
    "list_transform(range(8 - len(list_filter(string_split(replace(s, '::', ':'), ':'), "
    "lambda g: g <> ''))), lambda i: '0'), "
    "CASE WHEN ends_with(s, '::') THEN [] ELSE string_split(split_part(s, '::', 2), ':') END) "
    "END",
    "CREATE OR REPLACE MACRO ih_ip6_hex(g) AS CASE "
    "WHEN g IS NULL OR len(g) <> 8 OR NOT list_bool_and(list_transform(g, "
    "lambda x: regexp_full_match(x, '[0-9a-f]{1,4}'))) THEN NULL "
    "ELSE array_to_string(list_transform(g, lambda x: lpad(x, 4, '0')), '') END",
    # IPv6 text (zone id allowed, IPv4-mapped allowed) -> 32 hex digits; NULL otherwise.
    "CREATE OR REPLACE MACRO ih_ip6(ip) AS CASE WHEN contains(ip, ':') THEN "
    "ih_ip6_hex(ih_ip6_groups(ih_ip6_v4tail(lower(regexp_replace(ip, '%[^%]*$', ''))))) END",
)


def connect(threads: int | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """New in-memory DuckDB connection with imagehunt's helper macros, extensions never fetched."""
    config: dict[str, str | int | bool] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    for macro in MACROS:
        con.execute(macro)
    return con
