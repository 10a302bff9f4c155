"""Expand ``%list%`` inside ``|re`` values into an alternation of the list's escaped values.

pySigma's own placeholders work on plain strings only; miner command-line, wallet and
typosquat rules need a list inside a regular expression. A value's ``*`` becomes "any run of
characters other than spaces and path separators" and ``?`` one such character. Escaping
uses a backslash before ASCII punctuation only, which RE2 (DuckDB, Spark) and Python's ``re``
read the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sigma.processing.pipeline import ProcessingItem
from sigma.processing.transformations.base import ValueTransformation
from sigma.types import SigmaRegularExpression, SigmaType

from imagehunt.portable_regex import regex_escape

PLACEHOLDER = re.compile(r"%([a-z][a-z0-9_]*)%")


def value_to_regex(value: str | int) -> str:
    """One list value as a regex fragment: literal, with ``*`` and ``?`` as wildcards."""
    pieces = []
    for char in str(value):
        if char == "*":
            pieces.append(r"[^\s/\\]*")
        elif char == "?":
            pieces.append(r"[^\s/\\]")
        else:
            pieces.append(regex_escape(char))
    return "".join(pieces)


def alternation(values: Sequence[str | int]) -> str:
    """``(?:v1|v2|…)``, longest values first so that prefixes do not shadow longer names."""
    return _alternation(tuple(values))


@functools.lru_cache(maxsize=64)
def _alternation(values: tuple[str | int, ...]) -> str:
    # the typosquat lists hold thousands of values and several rules expand them
    ordered = sorted({value_to_regex(v) for v in values}, key=lambda s: (-len(s), s))
    return "(?:" + "|".join(ordered) + ")"


@dataclass
class RegexPlaceholderTransformation(ValueTransformation):
    """Replace ``%name%`` in regular expression values with the named list's alternation."""

    lists: Mapping[str, Sequence[str | int]] = field(default_factory=dict)

    def apply_value(self, field: str | None, val: SigmaType) -> SigmaType | None:
        if not isinstance(val, SigmaRegularExpression):
            return None
        text = val.regexp.to_plain()
        if not PLACEHOLDER.search(text):
            return None

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.lists:
                return match.group(0)
            return alternation(self.lists[name])

        expanded = PLACEHOLDER.sub(substitute, text)
        return SigmaRegularExpression(expanded, flags=set(val.flags))


def regex_placeholder_item(lists: Mapping[str, Sequence[str | int]]) -> ProcessingItem:
    """A processing item expanding list placeholders in every regex value."""
    return ProcessingItem(
        transformation=RegexPlaceholderTransformation(lists=lists),
        identifier="indicator_lists_in_regex",
    )
