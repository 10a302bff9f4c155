"""Translate a Sigma regular expression (search semantics, RE2 classes) to Lucene regex.

Elasticsearch EQL's ``regex``/``regex~`` use Lucene's regular expressions: the pattern must
match the WHOLE string, there are no anchors, no ``\\d``/``\\s``/``\\w``, no look-arounds, no
back-references and no inline flags. A Sigma regex finds a match anywhere, so ``P`` becomes
``.*P'.*`` where ``P'`` is ``P`` rewritten:

* ``^`` first (or ``$`` last) in the pattern drops the leading (trailing) ``.*``;
* in a first group with alternatives starting with ``^`` (a last group with alternatives
  ending with ``$``) the other alternatives take the ``.*``: ``(^|X)`` -> ``(.*X)?``;
* case-insensitive (``|i``, for ``regex~``): Lucene's flag folds ASCII literals but not
  class ranges, so ``[a-f]`` becomes ``[a-fA-F]``; a non-ASCII letter fails the rule. RE2
  also folds ``k`` with the Kelvin sign and ``s`` with the long s; Lucene does not (the one
  accepted difference, on text no miner command line uses);
* ``\\d``, ``\\s``, ``\\w`` become their ASCII (RE2) classes, ``.`` becomes "not a newline"
  unless the ``s`` flag is set; every literal character that is not a letter, digit or space
  is escaped with a backslash.

Anything else (anchors elsewhere, ``\\b``, look-arounds, back-references, Unicode-aware
classes inside a union, possessive repeats) raises :class:`LuceneRegexError` naming the
construct: the rule cannot be converted exactly.
"""

from __future__ import annotations

import re
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag

_DIGIT = "0-9"
_SPACE = "\t\n\f\r "  # RE2's \s (no \v)
_WORD = "0-9A-Za-z_"
_POSITIVE_CLASSES = {
    sre_parse.CATEGORY_DIGIT: _DIGIT,
    sre_parse.CATEGORY_SPACE: _SPACE,
    sre_parse.CATEGORY_WORD: _WORD,
}
_NEGATED_CLASSES = {
    sre_parse.CATEGORY_NOT_DIGIT: _DIGIT,
    sre_parse.CATEGORY_NOT_SPACE: _SPACE,
    sre_parse.CATEGORY_NOT_WORD: _WORD,
}
_BEGIN = (sre_parse.AT, sre_parse.AT_BEGINNING)
_END = (sre_parse.AT, sre_parse.AT_END)


class LuceneRegexError(SigmaFeatureNotSupportedByBackendError):
    """A regex construct Lucene cannot express with the same meaning."""


def _escape(char: str, in_class: bool = False) -> str:
    if char.isalnum() or (char == " " and not in_class):
        return char
    if ord(char) < 0x20:
        return char  # a raw control character is a literal for Lucene
    return "\\" + char


def _class_member(op: Any, arg: Any) -> str:
    if op is sre_parse.LITERAL:
        return _escape(chr(arg), in_class=True)
    if op is sre_parse.RANGE:
        return f"{_escape(chr(arg[0]), True)}-{_escape(chr(arg[1]), True)}"
    if op is sre_parse.CATEGORY and arg in _POSITIVE_CLASSES:
        return "".join(_class_chars(_POSITIVE_CLASSES[arg]))
    raise LuceneRegexError(f"character class member {op}:{arg} has no Lucene equivalent")


def _class_chars(spec: str) -> list[str]:
    if spec in (_DIGIT, _WORD):
        return [spec]
    return [_escape(c, in_class=True) for c in spec]


def _other_case(op: Any, arg: Any) -> list[tuple[Any, Any]]:
    """The other-case counterparts of an ASCII class member (Lucene folds no ranges)."""
    if op is sre_parse.LITERAL:
        _check_foldable(arg)
        char = chr(arg)
        swapped = char.swapcase()
        return [(op, ord(swapped))] if char.isascii() and swapped != char else []
    if op is not sre_parse.RANGE:
        return []
    low, high = arg
    _check_foldable(low, high)
    extra = []
    for first, last, shift in ((0x61, 0x7A, -0x20), (0x41, 0x5A, 0x20)):
        start, end = max(low, first), min(high, last)
        if start <= end:
            extra.append((sre_parse.RANGE, (start + shift, end + shift)))
    return extra


def _check_foldable(low: int, high: int | None = None) -> None:
    """Lucene folds ASCII letters only: refuse a non-ASCII letter with another case."""
    for code in range(max(low, 0x80), (high if high is not None else low) + 1):
        char = chr(code)
        if char.lower() != char or char.upper() != char:
            raise LuceneRegexError(
                f"non-ASCII letter {char!r} in a case-insensitive regex (Lucene folds ASCII only)"
            )


def _fold(members: list[Any]) -> list[Any]:
    return [*members, *(m for op, arg in members for m in _other_case(op, arg))]


def _char_class(members: list[Any], ignore_case: bool = False) -> str:
    negate = bool(members) and members[0][0] is sre_parse.NEGATE
    body = members[1:] if negate else members
    if ignore_case:
        body = _fold(body)
    if len(body) == 1 and body[0][0] is sre_parse.CATEGORY and body[0][1] in _NEGATED_CLASSES:
        if negate:
            raise LuceneRegexError("a negated class of a negated category (like [^\\S])")
        return "[^" + "".join(_class_chars(_NEGATED_CLASSES[body[0][1]])) + "]"
    return ("[^" if negate else "[") + "".join(_class_member(op, a) for op, a in body) + "]"


def _repeat(low: int, high: int) -> str:
    maxrepeat = sre_parse.MAXREPEAT
    if (low, high) == (0, maxrepeat):
        return "*"
    if (low, high) == (1, maxrepeat):
        return "+"
    if (low, high) == (0, 1):
        return "?"
    if high == maxrepeat:
        return f"{{{low},}}"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


class _Translator:
    def __init__(self, dotall: bool, ignore_case: bool) -> None:
        self.any_char = "." if dotall else "[^\n]"
        self.ignore_case = ignore_case

    def sequence(self, items: Any) -> str:
        return "".join(self.item(op, arg) for op, arg in items)

    def item(self, op: Any, arg: Any) -> str:
        if op is sre_parse.LITERAL:
            if self.ignore_case:
                _check_foldable(arg)
            return _escape(chr(arg))
        if op is sre_parse.NOT_LITERAL:
            return _char_class(
                [(sre_parse.NEGATE, None), (sre_parse.LITERAL, arg)], self.ignore_case
            )
        if op is sre_parse.ANY:
            return self.any_char
        if op is sre_parse.IN:
            return _char_class(list(arg), self.ignore_case)
        if op is sre_parse.BRANCH:  # sre_parse may factor a common prefix out of a group
            return _optional_union([self.sequence(b) for b in arg[1]]) or "()"
        if op is sre_parse.SUBPATTERN:
            if arg[1] or arg[2]:
                raise LuceneRegexError("inline flags inside a group ((?i:...)) are not supported")
            body = list(arg[3])
            if len(body) == 1 and body[0][0] is sre_parse.BRANCH:
                return self.item(*body[0])
            return "(" + self.sequence(body) + ")"
        if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
            low, high, body = arg
            inner = self.sequence(body)
            if len(body) != 1 or body[0][0] in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
                inner = f"({inner})"
            return inner + _repeat(low, high)
        if op is sre_parse.AT:
            raise LuceneRegexError(f"anchor {arg} in the middle of a regular expression")
        raise LuceneRegexError(f"regex construct {op} has no Lucene equivalent")

    def edge_group(self, arg: Any, anchor: Any, leading: bool) -> str | None:
        """A first (last) group whose alternatives may start with ``^`` (end with ``$``).

        ``.*(^|X)`` is ``(.*X)?`` and ``(Y|\\.?$).*`` is ``(Y.*|\\.?)``: each alternative
        takes the outer ``.*`` unless it is anchored.
        """
        if arg[1] or arg[2] or len(arg[3]) != 1 or arg[3][0][0] is not sre_parse.BRANCH:
            return None
        branches = [list(b) for b in arg[3][0][1][1]]
        edge = 0 if leading else -1
        if not any(b and b[edge] == anchor for b in branches):
            return None
        alternatives = []
        for branch in branches:
            if branch and branch[edge] == anchor:
                alternatives.append(self.sequence(branch[1:] if leading else branch[:-1]))
            else:
                body = self.sequence(branch)
                alternatives.append(".*" + body if leading else body + ".*")
        return _optional_union(alternatives)


def _optional_union(alternatives: list[str]) -> str:
    """``(a|b)``, as ``(a|b)?`` when one alternative is empty (Lucene has no empty branch)."""
    present = [a for a in alternatives if a]
    if not present:
        return ""
    union = "(" + "|".join(present) + ")"
    return union + "?" if len(present) < len(alternatives) else union


def _search_to_whole(translator: _Translator, items: list[Any]) -> str:
    """A search for ``items`` written as a whole-string Lucene pattern."""
    head, tail = ".*", ".*"
    if items and items[0] == _BEGIN:
        head, items = "", items[1:]
    elif items and items[0][0] is sre_parse.SUBPATTERN:
        group = translator.edge_group(items[0][1], _BEGIN, leading=True)
        if group is not None:
            head, items = group, items[1:]
    if items and items[-1] == _END:
        tail, items = "", items[:-1]
    elif items and items[-1][0] is sre_parse.SUBPATTERN:
        group = translator.edge_group(items[-1][1], _END, leading=False)
        if group is not None:
            tail, items = group, items[:-1]
    return head + translator.sequence(items) + tail


def sigma_regex_to_lucene(pattern: str, dotall: bool = False, ignore_case: bool = False) -> str:
    """The Lucene whole-string regex equal to searching ``pattern`` (RE2 meaning).

    With ``ignore_case`` the result is meant for ``regex~``: Lucene then folds literal ASCII
    letters itself, and the classes get their other-case ranges here.
    """
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise LuceneRegexError(f"invalid regular expression: {exc}") from None
    if parsed.state.flags & ~(re.UNICODE | re.IGNORECASE | re.DOTALL):
        raise LuceneRegexError("inline flags other than i and s are not supported")
    dotall = dotall or bool(parsed.state.flags & re.DOTALL)
    if parsed.state.flags & re.IGNORECASE:
        raise LuceneRegexError("inline (?i) is not supported; use the |i modifier")
    translator = _Translator(dotall, ignore_case)
    items = list(parsed)
    if len(items) == 1 and items[0][0] is sre_parse.BRANCH:
        alternatives = [_search_to_whole(translator, list(b)) for b in items[0][1][1]]
        return _optional_union(alternatives)
    return _search_to_whole(translator, items)


def sigma_value_to_lucene(value: SigmaRegularExpression) -> tuple[str, bool]:
    """(Lucene whole-string regex, ignore case) of a Sigma regex value with its modifiers.

    ``|m`` is refused (Lucene has no line anchors); ``|s`` and ``|i`` are translated.
    """
    flags = value.flags
    if SigmaRegularExpressionFlag.MULTILINE in flags:
        raise SigmaFeatureNotSupportedByBackendError("regex flag m has no Lucene equivalent")
    ignore_case = SigmaRegularExpressionFlag.IGNORECASE in flags
    lucene = sigma_regex_to_lucene(
        value.regexp.to_plain(),
        dotall=SigmaRegularExpressionFlag.DOTALL in flags,
        ignore_case=ignore_case,
    )
    return lucene, ignore_case
