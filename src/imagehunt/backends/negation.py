"""How many NOTs enclose the condition being converted.

Sigma's ``not selection`` holds for an event that lacks the field; in the SIEM languages a
test on a missing field is null or false, so backends guard tests that sit under a NOT. They
need the depth, which this base class keeps.
"""

from __future__ import annotations

from typing import Any

from sigma.conditions import ConditionNOT
from sigma.conversion.state import ConversionState

from imagehunt.backends.text_backend import ImagehuntTextBackend


class NegationDepth(ImagehuntTextBackend):
    """A backend that counts the NOTs around the current condition (``_negations``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negations = 0

    def convert_negated(self, cond: ConditionNOT, state: ConversionState) -> Any:
        """The operand of a NOT, converted with the depth raised."""
        self._negations += 1
        try:
            return self.convert_condition(cond.args[0], state)
        finally:
            self._negations -= 1

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        """pySigma's NOT rendering, with the depth raised while its operand converts."""
        self._negations += 1
        try:
            return super().convert_condition_not(cond, state)
        finally:
            self._negations -= 1
