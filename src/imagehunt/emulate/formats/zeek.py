"""Zeek conn.log and dns.log in Zeek's default tab-separated format, in one file.

Zeek writes each log to its own file (``conn.log``, ``dns.log``); this writer puts the conn
block first and the dns block after it, each with its own header (``#separator \\x09``,
``#set_separator``, ``#empty_field``, ``#unset_field``, ``#path``, ``#open``, ``#fields``,
``#types``) and ``#close`` line: what ``cat conn.log dns.log`` gives, and what imagehunt's
reader accepts. The columns are those of the default conn and dns logs of Zeek 3 to 7, as
in the real Zeek TSV logs of the corpus (recent releases add ``ip_proto`` to conn.log).
Rows are in ``ts`` order within each block.

Zeek sees traffic on the wire, not processes or containers:

* a connection -> a conn row: ``S0`` (history ``S``, the SYN and its two retransmissions)
  for an unanswered attempt, ``REJ`` (``Sr``) for a refused one, ``SF`` (``ShADadFf``) for an
  established one, with the service Zeek's analyzers name for well-known protocols;
* a DNS lookup -> a dns row (query, type, ``NOERROR`` and the answers with their TTLs, or
  ``NXDOMAIN`` when there is no answer) and the conn row of the UDP exchange (same ``uid``).

Loopback traffic never reaches the sensor and is left out. A container's traffic leaves
the host masqueraded, so Zeek sees the host's address as the originator. Connection uids,
byte counts and round-trip times come from the seeded generator.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from imagehunt.emulate.formats import ScenarioLike, epoch_seconds, lines, seeded_random
from imagehunt.emulate.steps import Connection, DnsLookup, Step

FORMAT = "zeek"
SEPARATOR = "\t"
SET_SEPARATOR = ","
EMPTY = "(empty)"
UNSET = "-"
CONN_FIELDS = (
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
)
DNS_FIELDS = (
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("trans_id", "count"),
    ("rtt", "interval"),
    ("query", "string"),
    ("qclass", "count"),
    ("qclass_name", "string"),
    ("qtype", "count"),
    ("qtype_name", "string"),
    ("rcode", "count"),
    ("rcode_name", "string"),
    ("AA", "bool"),
    ("TC", "bool"),
    ("RD", "bool"),
    ("RA", "bool"),
    ("Z", "count"),
    ("answers", "vector[string]"),
    ("TTLs", "vector[interval]"),
    ("rejected", "bool"),
)
QUERY_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}
# ports whose protocol Zeek's default analyzers recognise in an established connection
SERVICES = {22: "ssh", 53: "dns", 80: "http", 443: "ssl", 8000: "http", 8080: "http"}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_UDP_HEADER = 8
_TCP_SYN_HEADER = 40  # TCP header with the SYN's options
_TCP_HEADER = 32  # TCP header with timestamps
_RST_HEADER = 20
_SEGMENT = 1448
_ANSWER_TTLS = (60.0, 120.0, 300.0, 600.0, 3600.0)
Cell = str


@dataclass(frozen=True)
class _Row:
    """One log line, with what it sorts by and when its connection ended."""

    when: datetime
    order: int
    end: datetime
    cells: tuple[Cell, ...]


def escape(value: str, in_set: bool = False) -> str:
    """A string as Zeek's ASCII writer writes it: control characters, the separator and (in
    a set) the set separator as ``\\xHH``; the empty string as ``(empty)``."""
    if value == "":
        return EMPTY
    special = {SEPARATOR, "\\"} | ({SET_SEPARATOR} if in_set else set())
    return "".join(
        f"\\x{ord(c):02x}" if (ord(c) < 0x20 or ord(c) == 0x7F or c in special) else c
        for c in value
    )


def epoch_text(when: datetime) -> str:
    """Zeek ``time``: epoch seconds with six decimals."""
    seconds = epoch_seconds(when)
    return f"{seconds}.{when.microsecond:06d}"


def interval_text(seconds: float) -> str:
    """Zeek ``interval``: seconds with six decimals."""
    return f"{seconds:.6f}"


def header_time(when: datetime) -> str:
    """``#open`` / ``#close`` time: ``2026-11-02-09-00-00`` (the sensor runs on UTC)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d-%H-%M-%S")


def _ip_header(address: str) -> int:
    return 40 if ipaddress.ip_address(address).version == 6 else 20


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def dns_message_size(name: str, answers: tuple[str, ...]) -> tuple[int, int]:
    """Sizes of the query and of the response messages (names compressed in answers)."""
    question = sum(len(label) + 1 for label in name.rstrip(".").split(".")) + 1 + 4
    query = 12 + question
    response = query
    for answer in answers:
        try:
            rdata = 16 if ipaddress.ip_address(answer).version == 6 else 4
        except ValueError:
            rdata = sum(len(label) + 1 for label in answer.rstrip(".").split(".")) + 1
        response += 12 + rdata
    return query, response


class _Writer:
    """State of one output: the generator and the rows of each log."""

    def __init__(self, scenario: ScenarioLike) -> None:
        self.random: random.Random = seeded_random(scenario, FORMAT)
        self.conn: list[_Row] = []
        self.dns: list[_Row] = []

    def _uid(self) -> str:
        return "C" + "".join(self.random.choice(_BASE62) for _ in range(17))

    def _conn_row(
        self,
        when: datetime,
        uid: str,
        endpoints: tuple[str, int, str, int],
        proto: str,
        service: str,
        duration: float | None,
        bytes_: tuple[int, int] | None,
        state: str,
        history: str,
        packets: tuple[int, int, int, int],
    ) -> None:
        orig_h, orig_p, resp_h, resp_p = endpoints
        cells = (
            epoch_text(when),
            uid,
            orig_h,
            str(orig_p),
            resp_h,
            str(resp_p),
            proto,
            escape(service) if service else UNSET,
            interval_text(duration) if duration is not None else UNSET,
            str(bytes_[0]) if bytes_ is not None else UNSET,
            str(bytes_[1]) if bytes_ is not None else UNSET,
            state,
            UNSET,
            UNSET,
            "0",
            history,
            *(str(count) for count in packets),
            UNSET,
        )
        end = when + timedelta(seconds=duration or 0.0)
        self.conn.append(_Row(when, len(self.conn), end, cells))

    @staticmethod
    def _originator(step: Connection) -> str:
        """The address on the wire: a container's traffic is masqueraded to the host's."""
        return step.host.ip if step.process.container is not None else step.source_ip

    def connection(self, step: Connection) -> None:
        orig_h = self._originator(step)
        if _is_loopback(orig_h) or _is_loopback(step.destination_ip):
            return
        endpoints = (orig_h, step.source_port, step.destination_ip, step.destination_port)
        ip = _ip_header(orig_h)
        proto = step.transport.lower()
        rng = self.random
        if proto == "udp":
            self._udp(step, endpoints, ip)
        elif step.outcome == "refused":
            rtt = rng.uniform(0.0002, 0.06)
            packets = (1, ip + _TCP_SYN_HEADER, 1, ip + _RST_HEADER)
            self._conn_row(
                step.time, self._uid(), endpoints, proto, "", rtt, (0, 0), "REJ", "Sr", packets
            )
        elif step.outcome == "established":
            duration = rng.uniform(0.08, 25.0)
            sent, received = rng.randint(200, 4000), rng.randint(300, 60000)
            orig_pkts = sent // _SEGMENT + 4 + rng.randint(0, 3)
            resp_pkts = received // _SEGMENT + 3 + rng.randint(0, 3)
            packets = (
                orig_pkts,
                sent + orig_pkts * (ip + _TCP_HEADER),
                resp_pkts,
                received + resp_pkts * (ip + _TCP_HEADER),
            )
            service = SERVICES.get(step.destination_port, "")
            self._conn_row(
                step.time,
                self._uid(),
                endpoints,
                proto,
                service,
                duration,
                (sent, received),
                "SF",
                "ShADadFf",
                packets,
            )
        else:  # attempted: the SYN and two retransmissions, no answer
            duration = 3.0 + rng.uniform(0.0005, 0.02)
            packets = (3, 3 * (ip + _TCP_SYN_HEADER), 0, 0)
            self._conn_row(
                step.time, self._uid(), endpoints, proto, "", duration, (0, 0), "S0", "S", packets
            )

    def _udp(self, step: Connection, endpoints: tuple[str, int, str, int], ip: int) -> None:
        header = ip + _UDP_HEADER
        sent = self.random.randint(40, 600)
        if step.outcome == "established":
            received = self.random.randint(40, 1200)
            duration = self.random.uniform(0.001, 0.2)
            packets = (1, sent + header, 1, received + header)
            self._conn_row(
                step.time,
                self._uid(),
                endpoints,
                "udp",
                "",
                duration,
                (sent, received),
                "SF",
                "Dd",
                packets,
            )
        else:
            packets = (1, sent + header, 0, 0)
            self._conn_row(
                step.time, self._uid(), endpoints, "udp", "", None, None, "S0", "D", packets
            )

    def lookup(self, step: DnsLookup) -> None:
        orig_h = step.host.ip
        if _is_loopback(orig_h) or _is_loopback(step.resolver_ip):
            return
        uid = self._uid()
        endpoints = (orig_h, step.source_port, step.resolver_ip, 53)
        rtt = self.random.uniform(0.0004, 0.03)
        transaction = step.transaction_id or self.random.randint(1, 65535)
        query, response = dns_message_size(step.name, step.answers)
        header = _ip_header(orig_h) + _UDP_HEADER
        packets = (1, query + header, 1, response + header)
        self._conn_row(
            step.time, uid, endpoints, "udp", "dns", rtt, (query, response), "SF", "Dd", packets
        )
        qtype = step.query_type.upper()
        answered = bool(step.answers)
        ttls = [self.random.choice(_ANSWER_TTLS) for _ in step.answers]
        cells = (
            epoch_text(step.time),
            uid,
            orig_h,
            str(step.source_port),
            step.resolver_ip,
            "53",
            "udp",
            str(transaction),
            interval_text(rtt),
            escape(step.name),
            "1",
            "C_INTERNET",
            str(QUERY_TYPES[qtype]) if qtype in QUERY_TYPES else UNSET,
            qtype if qtype in QUERY_TYPES else UNSET,
            "0" if answered else "3",
            "NOERROR" if answered else "NXDOMAIN",
            "F",
            "F",
            "T",
            "T",
            "0",
            SET_SEPARATOR.join(escape(a, in_set=True) for a in step.answers) if answered else UNSET,
            SET_SEPARATOR.join(interval_text(t) for t in ttls) if answered else UNSET,
            "F",
        )
        end = step.time + timedelta(seconds=rtt)
        self.dns.append(_Row(step.time, len(self.dns), end, cells))


def _block(
    path: str, fields: tuple[tuple[str, str], ...], rows: list[_Row], closed: datetime
) -> list[str]:
    """One log: its header, its rows in ts order, its ``#close`` line."""
    ordered = sorted(rows, key=lambda row: (row.when, row.order))
    opened = ordered[0].when
    return [
        "#separator \\x09",
        f"#set_separator{SEPARATOR}{SET_SEPARATOR}",
        f"#empty_field{SEPARATOR}{EMPTY}",
        f"#unset_field{SEPARATOR}{UNSET}",
        f"#path{SEPARATOR}{path}",
        f"#open{SEPARATOR}{header_time(opened)}",
        SEPARATOR.join(["#fields", *(name for name, _ in fields)]),
        SEPARATOR.join(["#types", *(kind for _, kind in fields)]),
        *(SEPARATOR.join(row.cells) for row in ordered),
        f"#close{SEPARATOR}{header_time(closed)}",
    ]


def write(scenario: ScenarioLike) -> str:
    """conn.log then dns.log of the traffic the scenario puts on the wire ("" if none)."""
    writer = _Writer(scenario)
    step: Step
    for step in scenario.steps:
        if isinstance(step, Connection):
            writer.connection(step)
        elif isinstance(step, DnsLookup):
            writer.lookup(step)
    rows = writer.conn + writer.dns
    if not rows:
        return ""
    closed = max(row.end for row in rows) + timedelta(seconds=1)
    text = _block("conn", CONN_FIELDS, writer.conn, closed)
    if writer.dns:
        text += _block("dns", DNS_FIELDS, writer.dns, closed)
    return lines(text)
