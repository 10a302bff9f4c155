"""Reading pySigma values the same way in every backend: literal text, wildcards, integers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaCasedString, SigmaNumber, SigmaString, SpecialChars

_INTEGER = re.compile(r"-?[0-9]+")


def canonical_integer(text: str) -> bool:
    """Digits written the way the integer prints ('80', '-5'; not '080', '-0', '+1')."""
    return _INTEGER.fullmatch(text) is not None and str(int(text)) == text


def string_parts(value: SigmaString) -> list[str | SpecialChars]:
    """The text and wildcard parts of a value; an unexpanded placeholder is an error."""
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if not isinstance(part, str | SpecialChars):
            raise SigmaFeatureNotSupportedByBackendError(f"unexpanded placeholder {part!r}")
        parts.append(part)
    return parts


def render(value: SigmaString, literal: Callable[[str], str], multi: str, single: str) -> str:
    """The value in a target's syntax: ``literal`` of each text part, ``multi`` for ``*``
    and ``single`` for ``?``; an unexpanded placeholder is an error."""
    wildcards = {SpecialChars.WILDCARD_MULTI: multi, SpecialChars.WILDCARD_SINGLE: single}
    return "".join(
        literal(part) if isinstance(part, str) else wildcards[part] for part in string_parts(value)
    )


def affix_shape(parts: Sequence[object]) -> tuple[str, str] | None:
    """(eq|prefix|suffix|contains, literal) of value parts with ``*`` only at the ends, else
    None (a ``?``, an inner ``*`` or a placeholder)."""
    lead = bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI
    trail = len(parts) > int(lead) and parts[-1] is SpecialChars.WILDCARD_MULTI
    inner = parts[int(lead) : len(parts) - int(trail)]
    if not all(isinstance(p, str) for p in inner):
        return None
    kind = {(False, False): "eq", (False, True): "prefix", (True, False): "suffix"}
    return kind.get((lead, trail), "contains"), "".join(str(p) for p in inner)


def exact_text(value: SigmaString) -> str | None:
    """The literal of a wildcard-free value, or None."""
    parts = string_parts(value)
    if all(isinstance(p, str) for p in parts):
        return "".join(str(p) for p in parts)
    return None


def integer_text(value: Any) -> str | None:
    """The integer a rule value stands for, as text ('80' or 80; not '080', not `|cased`)."""
    if isinstance(value, SigmaNumber):
        return str(value.number) if isinstance(value.number, int) else None
    if isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString):
        text = exact_text(value)
        if text is not None and canonical_integer(text):
            return text
    return None
