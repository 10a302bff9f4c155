"""One reading of rule values for every backend: literal text and canonical integers."""

from __future__ import annotations

import pytest
from sigma.types import SigmaCasedString, SigmaNumber, SigmaString

from imagehunt.backends.sigma_values import canonical_integer, exact_text, integer_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SigmaNumber(3333), "3333"),
        (SigmaNumber(1.5), None),
        (SigmaString("80"), "80"),
        (SigmaString("-5"), "-5"),
        (SigmaString("080"), None),  # compared as text, not as the number 80
        (SigmaString("--5"), None),
        (SigmaString("+1"), None),
        (SigmaString("²"), None),
        (SigmaString("33*"), None),  # a wildcard is not an integer
        (SigmaCasedString("80"), None),
    ],
)
def test_integer_text(value: object, expected: str | None) -> None:
    assert integer_text(value) == expected


def test_exact_text_and_canonical_integer() -> None:
    assert exact_text(SigmaString("xmrig")) == "xmrig"
    assert exact_text(SigmaString("xmrig*")) is None
    assert canonical_integer("0") and not canonical_integer("-0") and not canonical_integer("")
