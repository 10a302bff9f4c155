"""Zeek conn.log and dns.log, as TSV (with ``#`` header lines) or as JSON lines.

TSV: the ``#separator``, ``#set_separator``, ``#empty_field``, ``#unset_field``, ``#path`` and
``#fields`` header lines are honoured; a later header block replaces the earlier one, so
concatenated logs read correctly. JSON: one object per line with dotted keys (``id.orig_h``),
underscore keys (``id_orig_h``) or a nested ``id`` object; the log path is guessed from the
keys (``query`` -> dns, ``conn_state`` or ``proto`` with a responder port -> conn).

Zeek knows no host name: rows carry ``host.ip`` = the originator address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from imagehunt.sources.base import Head
from imagehunt.sources.files import MAX_LINE_BYTES, open_binary
from imagehunt.sources.normalize import to_timestamp
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row

FORMAT = "zeek"

_ID_KEYS = ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
_UNDERSCORE_IDS = {key.replace(".", "_"): key for key in _ID_KEYS}
# the columns the reader maps (others are skipped), and those that are sets without #types
USED_COLUMNS = frozenset(
    {*_ID_KEYS, "ts", "uid", "proto", "service", "conn_state", "local_orig", "local_resp"}
    | {"query", "qtype_name", "answers"}
)
SET_COLUMNS = frozenset({"answers", "TTLs", "tunnel_parents"})
_HEX_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_DIRECTIONS = {
    ("T", "F"): "egress",
    ("F", "T"): "ingress",
    ("T", "T"): "internal",
    ("F", "F"): "external",
}


# ---- sniffing ---------------------------------------------------------------------------------
def _is_zeek_json(doc: dict[str, Any]) -> bool:
    """A JSON object with Zeek's ``ts``, ``uid`` and originator address."""
    if "ts" not in doc or "uid" not in doc:
        return False
    if "id.orig_h" in doc or "id_orig_h" in doc:
        return True
    nested = doc.get("id")
    return isinstance(nested, dict) and "orig_h" in nested


def sniff(head: Head) -> bool:
    """TSV starting with ``#separator``, or JSON lines with ``ts``, ``uid`` and ``id.orig_h``."""
    lines = head.lines
    if lines and lines[0].startswith(b"#separator"):
        return True
    doc = head.first_json
    return doc is not None and _is_zeek_json(doc)


# ---- values -----------------------------------------------------------------------------------
def epoch_seconds(value: Any) -> datetime | None:
    """Zeek ``ts``: epoch seconds (number or numeric text) or ISO 8601 text, as UTC."""
    if isinstance(value, bool) or value is None:
        return None
    seconds: float | None = None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            return to_timestamp(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def resolved_ips(answers: Any) -> list[str] | None:
    """The answers of a DNS reply that are IP addresses (names and TXT data dropped)."""
    if answers is None:
        return None
    items = answers if isinstance(answers, list) else [answers]
    found: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item or item[0] not in "0123456789abcdefABCDEF:":
            continue
        try:
            found.append(str(ipaddress.ip_address(item)))
        except ValueError:
            continue
    return found or None


def _text(value: Any) -> str | None:
    """A non-empty text value, else None."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


# ---- records to rows --------------------------------------------------------------------------
def _common(rec: dict[str, Any], dataset: str) -> dict[str, Any]:
    """Fields every Zeek row has: time, ids, endpoints, transport, provenance of the sensor."""
    orig_h = _text(rec.get("id.orig_h"))
    proto = _text(rec.get("proto"))
    return {
        "@timestamp": epoch_seconds(rec.get("ts")),
        "event.kind": "event",
        "event.id": _text(rec.get("uid")),
        "event.module": "zeek",
        "event.dataset": dataset,
        "observer.product": "zeek",
        "source.ip": orig_h,
        "source.port": rec.get("id.orig_p"),
        "destination.ip": _text(rec.get("id.resp_h")),
        "destination.port": rec.get("id.resp_p"),
        "network.transport": proto.lower() if proto else None,
        "host.ip": [orig_h] if orig_h else None,
    }


def _flag(value: Any) -> str | None:
    """Zeek bool (T/F in TSV, true/false in JSON) as ``T`` or ``F``."""
    if value is True or value == "T":
        return "T"
    if value is False or value == "F":
        return "F"
    return None


def conn_values(rec: dict[str, Any]) -> dict[str, Any]:
    """conn.log record -> network connection row values."""
    values = _common(rec, "zeek.conn")
    values["event.category"] = ["network"]
    values["event.type"] = ["connection", "start"]
    values["event.action"] = _text(rec.get("conn_state"))
    values["network.protocol"] = _text(rec.get("service"))
    local = (_flag(rec.get("local_orig")), _flag(rec.get("local_resp")))
    values["network.direction"] = _DIRECTIONS.get((local[0] or "", local[1] or ""))
    return values


def dns_values(rec: dict[str, Any]) -> dict[str, Any]:
    """dns.log record -> DNS query row values."""
    values = _common(rec, "zeek.dns")
    values["event.category"] = ["network"]
    values["event.type"] = ["protocol"]
    values["network.protocol"] = "dns"
    values["dns.question.name"] = _text(rec.get("query"))
    values["dns.question.type"] = _text(rec.get("qtype_name"))
    values["dns.resolved_ip"] = resolved_ips(rec.get("answers"))
    return values


def record_values(rec: dict[str, Any], path: str | None) -> dict[str, Any]:
    """Row values of a record whose log path is ``path`` (None: guessed from its keys)."""
    if path is None:
        if "query" in rec:
            path = "dns"
        elif "conn_state" in rec or ("proto" in rec and "id.resp_p" in rec):
            path = "conn"
    if path == "conn":
        return conn_values(rec)
    if path == "dns":
        return dns_values(rec)
    return _common(rec, f"zeek.{path}" if path else "zeek")


# ---- JSON lines -------------------------------------------------------------------------------
def json_record(doc: dict[str, Any]) -> dict[str, Any]:
    """A Zeek JSON object with its connection id keys in the dotted form."""
    for underscore, dotted in _UNDERSCORE_IDS.items():
        if underscore in doc and dotted not in doc:
            doc[dotted] = doc[underscore]
    nested = doc.get("id")
    if isinstance(nested, dict):
        for key in _ID_KEYS:
            part = key[3:]
            if part in nested and key not in doc:
                doc[key] = nested[part]
    return doc


def json_path_hint(doc: dict[str, Any]) -> str | None:
    """The log path when a shipper added it (``_path`` or ``@stream``)."""
    for key in ("_path", "@stream"):
        value = doc.get(key)
        if isinstance(value, str) and value:
            return value
    return None


# ---- TSV --------------------------------------------------------------------------------------
def unescape(raw: str) -> str:
    """Zeek's ``\\xHH`` escapes turned back into bytes, decoded as UTF-8."""
    if "\\x" not in raw:
        return raw
    data = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw.encode("utf-8"))
    return data.decode("utf-8", "replace")


@dataclass
class TsvHeader:
    """The state declared by the ``#`` lines seen so far."""

    separator: str = "\t"
    set_separator: str = ","
    empty_field: str = "(empty)"
    unset_field: str = "-"
    path: str | None = None
    fields: list[str] = field(default_factory=list)
    used: list[tuple[int, str, bool]] = field(default_factory=list)

    def directive(self, text: str) -> str | None:
        """Apply one ``#`` line; returns a problem reason or None."""
        if text.startswith("#separator"):
            declared = text[len("#separator") :].strip()
            self.separator = unescape(declared) if declared else "\t"
            if not self.separator:
                self.separator = "\t"
                return f"unreadable #separator {declared!r}: tab assumed"
            return None
        key, _, value = text.partition(self.separator)
        if key == "#set_separator":
            self.set_separator = unescape(value) or ","
        elif key == "#empty_field":
            self.empty_field = value
        elif key == "#unset_field":
            self.unset_field = value
        elif key == "#path":
            self.path = value
        elif key == "#fields":
            self.fields = value.split(self.separator)
            self._select(SET_COLUMNS)
        elif key == "#types":
            types = value.split(self.separator)
            self._select(
                frozenset(
                    name
                    for name, kind in zip(self.fields, types, strict=False)
                    if kind.startswith(("set[", "vector["))
                )
            )
        return None

    def _select(self, set_columns: frozenset[str]) -> None:
        """Remember the position of each column the reader uses, and whether it is a set."""
        self.used = [
            (index, name, name in set_columns)
            for index, name in enumerate(self.fields)
            if name in USED_COLUMNS
        ]

    def record(self, text: str) -> dict[str, Any] | str:
        """A data line as {column: value}, or a problem reason."""
        if not self.fields:
            return "data line before any #fields header"
        cells = text.split(self.separator)
        if len(cells) != len(self.fields):
            return f"{len(cells)} columns where #fields declares {len(self.fields)}"
        rec: dict[str, Any] = {}
        unset, empty = self.unset_field, self.empty_field
        for index, name, is_set in self.used:
            cell = cells[index]
            if cell == unset:
                continue
            if is_set:
                rec[name] = (
                    [] if cell == empty else [unescape(v) for v in cell.split(self.set_separator)]
                )
            elif cell == empty:
                rec[name] = ""
            else:
                rec[name] = unescape(cell)
        return rec


# ---- reading ----------------------------------------------------------------------------------
def _line_row(
    raw: bytes, number: int, header: TsvHeader, display: str, problems: ReadProblems
) -> dict[str, Any] | None:
    """The normalized row of one line (None for blank and header lines and for problems)."""
    if len(raw) > MAX_LINE_BYTES:
        problems.add(number, f"line longer than {MAX_LINE_BYTES} bytes")
        return None
    text = raw.decode("utf-8", "replace").rstrip("\r\n")
    stripped = text.lstrip()
    if not stripped:
        return None
    if stripped[0] == "#":
        reason = header.directive(stripped)
        if reason is not None:
            problems.add(number, reason)
        return None
    if stripped[0] == "{":
        try:
            doc = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            problems.add(number, f"invalid JSON: {exc}")
            return None
        if not isinstance(doc, dict):
            problems.add(number, "expected a JSON object")
            return None
        rec = json_record(doc)
        values = record_values(rec, json_path_hint(doc))
    else:
        parsed = header.record(text)
        if isinstance(parsed, str):
            problems.add(number, parsed)
            return None
        values = record_values(parsed, header.path)
    return make_row(values, display, number, FORMAT)


def _rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    header = TsvHeader()
    with open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            row = _line_row(raw, number, header, display, problems)
            if row is not None:
                yield row


def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized batches of every conn/dns record (other paths: generic rows)."""
    return batches(_rows(path, display, problems))
