"""Indicator lists: data files (one YAML per list, each value with its sources).

Rules never paste these values; they name a list as a Sigma placeholder (``%pool_ports%``) and
the pipeline expands it. ``typosquat_images`` is derived from ``popular_images`` at load time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from imagehunt import safe_yaml
from imagehunt.errors import RuleError


@dataclass(frozen=True)
class IndicatorList:
    """One curated list: its name, values and the sources each value comes from."""

    name: str
    description: str
    values: tuple[str | int, ...]
    sources: dict[str, str]
    path: str


def _load_file(path: Path) -> IndicatorList:
    try:
        doc: Any = safe_yaml.load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"cannot read indicator list: {exc}", file=path) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("values"), list):
        raise RuleError("indicator list needs a 'values' list", file=path)
    values: list[str | int] = []
    for item in doc["values"]:
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise RuleError(f"indicator value must be a string or integer: {item!r}", file=path)
        values.append(value)
    return IndicatorList(
        name=str(doc.get("name", path.stem)),
        description=str(doc.get("description", "")),
        values=tuple(values),
        sources={str(k): str(v) for k, v in (doc.get("sources") or {}).items()},
        path=str(path),
    )


@cache
def load_indicator_lists() -> dict[str, IndicatorList]:
    """All shipped lists by name, plus the derived ``typosquat_images`` list."""
    from imagehunt.image.names import typosquat_variants

    folder = Path(str(files("imagehunt") / "indicators"))
    lists = {p.stem: _load_file(p) for p in sorted(folder.glob("*.yml"))}
    popular = lists.get("popular_images")
    if popular is not None:
        known_good = lists.get("known_good_images")
        variants = typosquat_variants(
            [str(v) for v in popular.values],
            [str(v) for v in known_good.values] if known_good else (),
        )
        lists["typosquat_images"] = IndicatorList(
            name="typosquat_images",
            description="one-edit variants of popular_images (derived at load time)",
            values=tuple(variants),
            sources={"derived": "imagehunt.image.names.typosquat_variants(popular_images)"},
            path=popular.path,
        )
    return lists


def placeholder_values() -> dict[str, list[str | int]]:
    """Pipeline variables: list name -> values, for Sigma placeholder expansion."""
    return {name: list(lst.values) for name, lst in load_indicator_lists().items()}
