"""SPL text pieces: string literals, field references, PCRE patterns of Sigma values."""

from __future__ import annotations

import re

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaString

from imagehunt.backends.sigma_values import render

_PLAIN_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SAFE_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.{}@]*")


def spl_string(value: str) -> str:
    """``value`` as an SPL eval string literal: backslash and double quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def field_ref(name: str) -> str:
    """A field in an eval expression: bare when a plain word, else in single quotes."""
    if _PLAIN_FIELD.fullmatch(name):
        return name
    if not _SAFE_FIELD.fullmatch(name):
        raise SigmaFeatureNotSupportedByBackendError(f"field name {name!r} cannot be quoted")
    return f"'{name}'"


def pcre_literal(text: str) -> str:
    """``text`` as a PCRE literal: every non-alphanumeric escaped, controls as ``\\x{..}``."""
    out = []
    for char in text:
        if char.isalnum() and char.isascii():
            out.append(char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{{{ord(char):02x}}}")
        elif char.isascii():
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def value_pattern(value: SigmaString) -> str:
    """A whole-value PCRE body of a Sigma string: wildcards ``*`` -> ``.*``, ``?`` -> ``.``."""
    return render(value, pcre_literal, ".*", ".")


def re2_to_pcre(pattern: str, multiline: bool = False) -> str:
    """A Sigma (RE2) regex for PCRE: an unescaped ``$`` outside a class becomes ``\\z``.

    RE2's ``$`` is the end of the text; PCRE's also matches before a final newline. With the
    ``m`` flag ``$`` means end of line in both and is kept.
    """
    if multiline:
        return pattern
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]" or out[-1] in ("[", "[^")
        elif char == "[":
            in_class = True
            if pattern.startswith("[^", index):
                out.append("[^")
                index += 2
                continue
        elif char == "$":
            char = "\\z"
        out.append(char)
        index += 1
    return "".join(out)
