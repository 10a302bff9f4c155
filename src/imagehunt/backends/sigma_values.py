"""Reading pySigma values the same way in every backend: literal text and integers."""

from __future__ import annotations

import re
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
