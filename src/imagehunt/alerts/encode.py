"""JSON text for writers: orjson, keys in insertion order, non-ASCII kept, strict about types."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import orjson

_BASE_OPTIONS = orjson.OPT_UTC_Z


def _default(obj: Any) -> Any:
    """Convert the few non-JSON values event fields may carry; refuse everything else."""
    if isinstance(obj, Decimal | PurePath):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "backslashreplace")
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=str)
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"cannot write a {type(obj).__name__} value as JSON")


def dumps(obj: Any, *, pretty: bool = False) -> str:
    """Serialize ``obj`` to compact (or 2-space indented) JSON text, without a trailing newline.

    Raises ``TypeError`` for values JSON cannot represent.
    """
    options = _BASE_OPTIONS | (orjson.OPT_INDENT_2 if pretty else 0)
    return orjson.dumps(obj, default=_default, option=options).decode("utf-8")
