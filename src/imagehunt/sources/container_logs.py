"""Helpers shared by the Docker and Kubernetes readers: bounded JSON lines, image references.

``names.parse_image_ref`` normalizes a reference (adds ``docker.io/library/``); these readers
must keep the repository exactly as the log wrote it, so :func:`split_image` only cuts off the
tag and digest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from imagehunt.sources.files import MAX_LINE_BYTES, bounded_lines, open_binary
from imagehunt.sources.problems import ReadProblems


def json_lines(path: Path, problems: ReadProblems) -> Iterator[tuple[int, Any]]:
    """(1-based line, parsed JSON value) for every non-blank line of ``path``.

    Lines longer than ``MAX_LINE_BYTES`` and lines that are not JSON go to ``problems``.
    """
    with open_binary(path) as handle:
        for number, raw in bounded_lines(handle, MAX_LINE_BYTES):
            if raw is None:
                problems.add(number, f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            text = raw.strip()
            if not text:
                continue
            try:
                yield number, orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                problems.add(number, f"invalid JSON: {exc}")


def split_image(reference: object) -> tuple[str | None, str | None]:
    """(repository as written, tag) of an image reference; the digest is dropped.

    ``docker.io/library/nginx:1.25`` -> (``docker.io/library/nginx``, ``1.25``);
    ``localhost:5000/app@sha256:...`` -> (``localhost:5000/app``, None). Image ids
    (``sha256:...``), empty text and text with whitespace give (None, None).
    """
    if not isinstance(reference, str):
        return None, None
    words = reference.split()
    if len(words) != 1 or words[0].startswith("sha256:"):
        return None, None
    text = words[0]
    name = text.partition("@")[0]
    tag: str | None = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
    return (name or None), (tag or None)


def basename(path: str) -> str:
    """Last component of a Unix or Windows path."""
    return path.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]


def process_fields(args: list[str], command_line: str | None = None) -> dict[str, Any]:
    """process.args / command_line / name (/ executable when absolute) of a started command."""
    if not args:
        return {}
    first = args[0]
    values: dict[str, Any] = {
        "process.args": args,
        "process.command_line": command_line if command_line is not None else " ".join(args),
        "process.name": basename(first) or None,
    }
    if first.startswith("/"):
        values["process.executable"] = first
    return values


class RecentKeys:
    """The last ``limit`` keys seen: bounded memory for de-duplicating nearby records."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._order: deque[str] = deque()
        self._keys: set[str] = set()

    def seen(self, key: str) -> bool:
        """True if ``key`` is among the recent keys; otherwise remember it and return False."""
        if key in self._keys:
            return True
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > self._limit:
            self._keys.discard(self._order.popleft())
        return False
