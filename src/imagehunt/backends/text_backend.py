"""What every imagehunt backend sets the same way on pySigma's TextQueryBackend.

NOT binds tighter than AND, AND tighter than OR; groups are parenthesised; an OR of one
field's values becomes an ``IN`` list (wildcards allowed, unless a target refuses them);
no pipeline is required because each target applies its own. A backend overrides only its
own spelling: the boolean words, the equality token, the string quote, the list form.
Field references and keyword (field-less) searches are refused unless a backend has a form
for them. A null test is a "field missing" test, and a numeric comparison needs an integer
field.
"""

from __future__ import annotations

from typing import ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.deferred import DeferredQueryExpression
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import CompareOperators, SigmaCompareExpression

# Sigma's comparison modifiers as the operators every target language spells the same way.
COMPARE_OPERATORS = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
}


class ImagehuntTextBackend(TextQueryBackend):
    """The shared settings; the boolean words default to SQL's."""

    requires_pipeline: ClassVar[bool] = False
    precedence: ClassVar[tuple[type[ConditionItem], type[ConditionItem], type[ConditionItem]]] = (
        ConditionNOT,
        ConditionAND,
        ConditionOR,
    )
    group_expression: ClassVar[str] = "({expr})"
    token_separator: str = " "
    or_token: ClassVar[str] = "OR"
    and_token: ClassVar[str] = "AND"
    not_token: ClassVar[str] = "NOT"
    str_quote: ClassVar[str] = '"'
    convert_or_as_in: ClassVar[bool] = True
    in_expressions_allow_wildcards: ClassVar[bool] = True
    field_in_list_expression: ClassVar[str] = "{field} IN ({list})"
    list_separator: ClassVar[str] = ", "

    def convert_condition_field_eq_val_null(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """``field: null`` means the field is missing, as ``field|exists: false`` does."""
        return self.convert_condition_field_not_exists(cond, state)

    def _integer_comparison(
        self, cond: ConditionFieldEqualsValueExpression, integer_field: bool
    ) -> str:
        """Operator and number of a comparison (``< 5``); refused on a non-integer field."""
        assert isinstance(cond.value, SigmaCompareExpression)
        if not integer_field:
            raise SigmaFeatureNotSupportedByBackendError(
                f"numeric comparison on the non-integer field '{cond.field}'"
            )
        return f"{COMPARE_OPERATORS[cond.value.op]} {cond.value.number.number}"

    def convert_condition_field_eq_field(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        raise SigmaFeatureNotSupportedByBackendError("field references are not supported")

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        raise SigmaFeatureNotSupportedByBackendError(
            "keyword searches (values without a field) are not supported"
        )

    def convert_condition_val_num(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        return self.convert_condition_val_str(cond, state)

    def convert_condition_val_re(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        raise SigmaFeatureNotSupportedByBackendError(
            "keyword regular expressions (without a field) are not supported"
        )
