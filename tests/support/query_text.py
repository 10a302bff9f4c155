"""What the query target tests share: golden files and balanced parentheses."""

from __future__ import annotations

import os
from pathlib import Path


def assert_golden(path: Path, text: str) -> None:
    """``text`` equals the golden file ``path``; IMAGEHUNT_UPDATE_GOLDEN=1 (re)writes it first."""
    if os.environ.get("IMAGEHUNT_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path}; IMAGEHUNT_UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(encoding="utf-8"), f"{path} differs; IMAGEHUNT_UPDATE_GOLDEN=1"


def assert_balanced_parentheses(code: str) -> None:
    """Every ``)`` in ``code`` closes an earlier ``(`` and every ``(`` is closed."""
    depth = 0
    for char in code:
        depth += {"(": 1, ")": -1}.get(char, 0)
        assert depth >= 0, "closing parenthesis without opening one"
    assert depth == 0, "unbalanced parentheses"
