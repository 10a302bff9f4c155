"""What every imagehunt backend sets the same way on pySigma's TextQueryBackend.

NOT binds tighter than AND, AND tighter than OR; groups are parenthesised; an OR of one
field's values becomes an ``IN`` list (wildcards allowed, unless a target refuses them);
no pipeline is required because each target applies its own. A backend overrides only its
own spelling: the boolean words, the equality token, the string quote, the list form.
Field references and keyword (field-less) searches are refused unless a backend has a form
for them.
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
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError


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
