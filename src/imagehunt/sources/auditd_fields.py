"""Decoding auditd record fields: quoted or hex values, EXECVE arguments, socket addresses.

auditd writes a string value in double quotes when it is printable and has no space or
quote, and as unquoted upper-case hex of its bytes otherwise. Numbers are written bare.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

MAX_ARGS = 65536  # more EXECVE arguments than this are not kept
MAX_ARGS_BYTES = 8 * 1024 * 1024  # nor more bytes of arguments in one event

_UNSET = frozenset((b"(null)", b"(none)", b"?"))

AF_INET = 2
AF_INET6 = 10


def raw_part(body: bytes) -> bytes:
    """The body without the enriched part that follows the GS (``\\x1d``) separator."""
    return body.partition(b"\x1d")[0]


def enriched_fields(body: bytes) -> dict[bytes, bytes]:
    """Interpreted fields after the GS separator (``UID="root" SYSCALL=execve``).

    Braced values (``SADDR={ fam=inet ... }``) are skipped; quotes are removed.
    """
    _raw, sep, extra = body.partition(b"\x1d")
    if not sep:
        return {}
    found: dict[bytes, bytes] = {}
    depth = 0
    for token in extra.split():
        if depth:
            depth += token.count(b"{") - token.count(b"}")
            continue
        key, sep, value = token.partition(b"=")
        if value.startswith(b"{"):
            depth = value.count(b"{") - value.count(b"}")
            continue
        if sep and key not in found:
            found[key] = value.strip(b'"')
    return found


def value_bytes(value: bytes) -> bytes | None:
    """Bytes of an encodable value: quoted text, hex, or (when neither) the value itself."""
    if value.startswith(b'"'):
        end = value.rfind(b'"')
        return value[1:end] if end > 0 else value[1:]
    if value in _UNSET or not value:
        return None
    if len(value) % 2 == 0:
        try:
            return bytes.fromhex(value.decode("ascii"))
        except ValueError:
            return value
    return value


def text(value: bytes | None) -> str | None:
    """Decoded text of an encodable value (invalid UTF-8 is replaced, never fatal)."""
    if value is None:
        return None
    data = value_bytes(value)
    return None if data is None else data.decode("utf-8", "replace")


def number(value: bytes | None) -> int | None:
    """Decimal integer value, or None."""
    if value is None or not value.isdigit() or len(value) > 19:
        return None
    return int(value)


_SIMPLE_ARG = re.compile(rb" a(\d+)=(\S*)")
_INDEXES = [str(i).encode() for i in range(1024)]


def execve_args(bodies: list[bytes]) -> list[str] | None:
    """Arguments of the EXECVE record(s) of one event, in order (see ``_general_args``)."""
    if len(bodies) == 1 and b"[" not in bodies[0]:
        pairs = _SIMPLE_ARG.findall(b" " + raw_part(bodies[0]))
        if pairs and [index for index, _value in pairs] == _INDEXES[: len(pairs)]:
            return [_arg_text(value) for _index, value in pairs]
    return _general_args(bodies)


def _arg_text(value: bytes) -> str:
    """Text of one EXECVE argument value (quoted or hex)."""
    if value[:1] == b'"' and value[-1:] == b'"' and len(value) > 1:
        return value[1:-1].decode("utf-8", "replace")
    return (value_bytes(value) or b"").decode("utf-8", "replace")


def _general_args(bodies: list[bytes]) -> list[str] | None:
    """Arguments of the EXECVE record(s) of one event, in order.

    Handles ``aN=`` (quoted or hex) and long arguments split as ``aN_len=`` with
    ``aN[0]=``, ``aN[1]=``...; a large argv spreads over several EXECVE records.
    """
    pieces: dict[int, list[tuple[int, bytes]]] = {}
    whole: dict[int, bytes] = {}
    argc: int | None = None
    total = 0
    for body in bodies:
        for token in raw_part(body).split():
            key, sep, value = token.partition(b"=")
            if not sep:
                continue
            if key == b"argc":
                argc = number(value) if argc is None else argc
                continue
            slot = _arg_slot(key)
            if slot is None:
                continue
            index, part = slot
            data = value_bytes(value) or b""
            total += len(data)
            if total > MAX_ARGS_BYTES:
                break
            if part is None:
                whole.setdefault(index, data)
            else:
                pieces.setdefault(index, []).append((part, data))
    for index, parts in pieces.items():
        whole.setdefault(index, b"".join(data for _part, data in sorted(parts)))
    if not whole:
        return None
    count = argc if argc is not None and argc <= MAX_ARGS else max(whole) + 1
    return [whole.get(i, b"").decode("utf-8", "replace") for i in range(min(count, MAX_ARGS))]


def _arg_slot(key: bytes) -> tuple[int, int | None] | None:
    """(argument index, piece index or None) of ``a3`` or ``a3[1]``; None for other keys."""
    if not key.startswith(b"a"):
        return None
    name, bracket, rest = key[1:].partition(b"[")
    if not name.isdigit() or len(name) > 6:
        return None
    if not bracket:
        return int(name), None
    piece = rest.rstrip(b"]")
    if not rest.endswith(b"]") or not piece.isdigit() or len(piece) > 6:
        return None
    return int(name), int(piece)


def proctitle_args(value: bytes) -> list[str] | None:
    """Arguments of a PROCTITLE value: hex with NUL separators, or one quoted word."""
    data = value_bytes(value)
    if not data:
        return None
    parts = data.rstrip(b"\x00").split(b"\x00")
    return [p.decode("utf-8", "replace") for p in parts]


class SocketAddress(NamedTuple):
    """An inet or inet6 socket address decoded from a SOCKADDR ``saddr=`` value."""

    ip: str
    port: int


def socket_address(value: bytes) -> SocketAddress | None:
    """Address of an inet (2) or inet6 (10) ``saddr``; None for other families or bad hex.

    Layout: family (little-endian u16), port (big-endian u16), then the IPv4 address, or
    the IPv6 flow info (4 bytes) and address (16 bytes).
    """
    try:
        data = bytes.fromhex(value.decode("ascii"))
    except ValueError:
        return None
    if len(data) < 8:
        return None
    family = data[0] | (data[1] << 8)
    port = (data[2] << 8) | data[3]
    if family == AF_INET:
        return SocketAddress(f"{data[4]}.{data[5]}.{data[6]}.{data[7]}", port)
    if family == AF_INET6 and len(data) >= 24:
        address = ipaddress.IPv6Address(data[8:24])
        mapped = address.ipv4_mapped
        ip = f"::ffff:{mapped}" if mapped is not None else address.compressed
        return SocketAddress(ip, port)
    return None


def basename(path: str) -> str:
    """Last component of a path (the path itself when it has no slash)."""
    return path.rpartition("/")[2] or path
