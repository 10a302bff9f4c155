"""Sysmon for Linux: syslog lines carrying Sysmon's XML event, and winlog-style JSON.

* syslog (``/var/log/syslog``, ``/var/log/messages``): ``<header> sysmon: <Event>...</Event>``,
  one event per line, whatever the header (RFC 3164, RFC 5424, ISO time). Lines of other
  programs are skipped silently; a line with a broken event is a problem.
* ``journalctl -o json`` lines whose ``MESSAGE`` is the XML event.
* JSON with a ``winlog`` object (Elastic's sysmon_linux integration), one document per line,
  pretty-printed, or in the ``{"events": [...]}`` wrapper of Elastic's pipeline tests.

The XML is read with string searches, not an XML parser: only ``<Data Name="X">value</Data>``
and a few ``System`` elements are taken, the five XML entities and numeric character
references are decoded, and a record with a ``<!`` declaration (DOCTYPE, ENTITY, CDATA) is
refused, so no entity is ever expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from imagehunt.sources.base import Head
from imagehunt.sources.files import numbered_lines, open_binary
from imagehunt.sources.normalize import message_text
from imagehunt.sources.problems import ReadProblems
from imagehunt.sources.rows import batches, make_row
from imagehunt.sources.sysmon_fields import (
    LINUX,
    SystemFacts,
    record_or_sysmon_values,
    winlog_values,
)
from imagehunt.sources.winlogbeat import head_channel, json_records

FORMAT = "sysmon"

_PROVIDER_MARK = b"<Provider Name="
_LINUX_MARK = b"Linux-Sysmon"
_MESSAGE_KEYS = ("MESSAGE", "message")


# ---- XML of one event -------------------------------------------------------------------------
_ENTITY = re.compile(r"&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if not name.startswith("#"):
        return _NAMED[name]
    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
    valid = 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF  # no lone surrogates
    return chr(code) if valid else match.group()


def xml_unescape(text: str) -> str:
    """Decode the XML entities and character references of a text (nothing else)."""
    return _ENTITY.sub(_entity, text) if "&" in text else text


def _element_text(xml: str, tag: str) -> str | None:
    """Text of the first ``<tag ...>text</tag>`` in ``xml``, or None."""
    start = xml.find("<" + tag)
    if start < 0:
        return None
    opened = xml.find(">", start)
    end = xml.find("</" + tag + ">", opened)
    if opened < 0 or end < 0 or xml[opened - 1] == "/":
        return None
    return xml_unescape(xml[opened + 1 : end])


def _attribute(xml: str, prefix: str) -> str | None:
    """Value of the first ``prefix"value"`` (``prefix`` ends with ``="``), or None."""
    start = xml.find(prefix)
    if start < 0:
        return None
    start += len(prefix)
    end = xml.find('"', start)
    return xml_unescape(xml[start:end]) if end >= 0 else None


_DATA_ITEM = re.compile(r'<Data Name="([^"<>]*)"\s*(?:/>|>([^<]*)</Data>)')


def _data_items(xml: str, start: int, end: int) -> dict[str, str]:
    """``<Data Name="X">value</Data>`` (or ``<Data Name="X"/>``) items of ``xml[start:end]``."""
    items = _DATA_ITEM.findall(xml, start, end)
    if len(items) != xml.count("<Data", start, end):
        raise ValueError("malformed Data element in EventData")
    if xml.find("&", start, end) < 0:
        return dict(items)
    return {xml_unescape(name): xml_unescape(value) for name, value in items}


def parse_event_xml(xml: str) -> tuple[SystemFacts, dict[str, str]]:
    """System facts and EventData of one ``<Event>...</Event>``; ValueError when malformed."""
    if "<!" in xml:
        raise ValueError("XML declarations (DOCTYPE, ENTITY, CDATA) are not accepted")
    system_end = xml.find("</System>")
    if system_end < 0:
        raise ValueError("truncated event: no </System>")
    if xml.find("</Event>", system_end) < 0:
        raise ValueError("truncated event: no </Event>")
    system = xml[:system_end]
    event_id = _element_text(system, "EventID")
    if event_id is None or not event_id.strip().isdigit():
        raise ValueError("event without a numeric EventID")
    facts = SystemFacts(
        event_id=event_id.strip(),
        computer=_element_text(system, "Computer"),
        record_id=_element_text(system, "EventRecordID"),
        time_created=_attribute(system, 'SystemTime="'),
        channel=_element_text(system, "Channel"),
        provider=_attribute(system, 'Provider Name="'),
    )
    data_start = xml.find("<EventData>", system_end)
    if data_start < 0:
        return facts, {}
    data_end = xml.find("</EventData>", data_start)
    if data_end < 0:
        raise ValueError("truncated event: no </EventData>")
    return facts, _data_items(xml, data_start, data_end)


def xml_values(xml: str) -> dict[str, Any]:
    """Schema values of one Sysmon for Linux XML event (ValueError when malformed)."""
    facts, data = parse_event_xml(xml)
    return record_or_sysmon_values(facts, data, LINUX)


# ---- sniffing ---------------------------------------------------------------------------------
def sniff(head: Head) -> bool:
    """Sysmon for Linux XML events (syslog or journald JSON) or winlog JSON of Linux-Sysmon."""
    data = head.data
    if _LINUX_MARK not in data:
        return False
    if _PROVIDER_MARK in data and b"<EventID>" in data:
        return True
    channel = head_channel(head)
    return channel is not None and channel.startswith("Linux-")


# ---- reading ----------------------------------------------------------------------------------
def _text_line_values(line: bytes) -> dict[str, Any] | None:
    """Values of a syslog line carrying an event; None for other programs' lines."""
    start = line.find(b"<Event")
    if start < 0:
        return None
    if b"<!" in line:
        raise ValueError("XML declarations (DOCTYPE, ENTITY, CDATA) are not accepted")
    return xml_values(line[start:].decode("utf-8", "replace"))


def _document_values(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Values of a winlog document, or of a journald/forwarded one whose message is XML.

    None for a journald record of another program; ValueError for any other JSON object.
    """
    values = winlog_values(doc)
    if values is not None:
        return values
    for key in _MESSAGE_KEYS:
        message = message_text(doc.get(key))
        if message is not None and "<Event" in message:
            if "<!" in message:
                raise ValueError("XML declarations (DOCTYPE, ENTITY, CDATA) are not accepted")
            return xml_values(message[message.find("<Event") :])
    if _MESSAGE_KEYS[0] in doc:
        return None
    raise ValueError("JSON object with neither a winlog object nor a Sysmon XML message")


def _rows(path: Path, display: str, problems: ReadProblems) -> Iterator[dict[str, Any]]:
    with open_binary(path) as handle:
        for number, record in json_records(numbered_lines(handle), problems):
            try:
                if isinstance(record, bytes):
                    values = _text_line_values(record)
                else:
                    values = _document_values(record)
            except ValueError as exc:
                problems.add(number, str(exc))
                continue
            if values is not None:
                yield make_row(values, display, number, FORMAT)


def read(path: Path, display: str, problems: ReadProblems) -> Iterator[pa.RecordBatch]:
    """Normalized batches of every Sysmon for Linux event; malformed ones go to ``problems``."""
    return batches(_rows(path, display, problems))
