"""Java regular expressions for AQL ``MATCHES`` from Sigma values and Sigma regexes.

AQL ``MATCHES`` uses Java's ``java.util.regex``. Whether it searches or matches the whole
value is not stated in IBM's guide, so every pattern is written to mean the same either way:
a search for ``P`` becomes ``[\\s\\S]*(?:P)[\\s\\S]*`` (which can only match the whole value
when ``P`` occurs in it), and a Sigma wildcard value becomes an anchored whole-value pattern.

Sigma regexes are RE2/Python syntax. The constructs that Java reads differently are refused,
by name: ``[`` inside a character class (a nested class in Java), ``&&`` inside a class (an
intersection), Python named groups ``(?P<n>...)`` and ``(?P=n)``, and ``\\Z`` (Python: end of
text; Java: before a final line terminator).
"""

from __future__ import annotations

import re
import warnings

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaString

from imagehunt.backends.sigma_values import render

_ANY = "[\\s\\S]*"


class JavaRegexError(SigmaFeatureNotSupportedByBackendError):
    """A regex construct Java reads with another meaning."""


def java_literal(text: str) -> str:
    """``text`` as a Java regex matching exactly it (controls as ``\\xHH``)."""
    out = []
    for char in text:
        if ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        elif char.isascii() and not char.isalnum():
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def wildcard_to_java(value: SigmaString) -> str:
    """A Sigma value with ``*``/``?`` as a whole-value Java regex (``\\z``: the very end)."""
    return "^" + render(value, java_literal, _ANY, "[\\s\\S]") + "\\z"


def _check_classes(pattern: str) -> None:
    """Refuse ``[`` and ``&&`` inside a character class."""
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            if char == "[":
                raise JavaRegexError("'[' inside a character class is a nested class in Java")
            if pattern.startswith("&&", index):
                raise JavaRegexError("'&&' inside a character class is an intersection in Java")
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            index += 2 if pattern.startswith("[^", index) else 1
            if pattern.startswith("]", index):
                raise JavaRegexError("']' first in a character class is not a literal in Java")
            continue
        index += 1


def search_to_java(pattern: str, ignore_case: bool, dotall: bool) -> str:
    """A Sigma (search) regex as a Java regex meaning the same under find or whole match."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # nested sets: refused below
            re.compile(pattern)
    except re.error as exc:
        raise JavaRegexError(f"invalid regular expression: {exc}") from None
    if "(?P" in pattern:
        raise JavaRegexError("Python named groups (?P...) are not Java syntax")
    if re.search(r"(?<!\\)(\\\\)*\\Z", pattern):
        raise JavaRegexError("\\Z means 'before a final newline' in Java")
    _check_classes(pattern)
    flags = ("iu" if ignore_case else "") + ("s" if dotall else "")
    prefix = f"(?{flags})" if flags else ""
    return f"{prefix}{_ANY}(?:{pattern}){_ANY}"
