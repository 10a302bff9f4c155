"""Regex text that RE2 (DuckDB, Spark) and Python's ``re`` read the same way."""

from __future__ import annotations


def regex_escape(text: str) -> str:
    """Escape ASCII punctuation with a backslash; leave letters, digits and spaces alone.

    RE2 rejects escapes of letters and of non-ASCII characters that Python's ``re.escape``
    produces, so escaping is limited to ASCII punctuation, which both engines accept.
    """
    return "".join("\\" + c if (c.isascii() and not c.isalnum() and c != " ") else c for c in text)
