"""The user's config file (``-c FILE``): what they trust, and the thresholds they tune.

YAML, loaded with the safe loader, size-bounded; every error names the file and the line of
the offending key. Every section is optional; an absent file means the defaults below.

```yaml
cloud:
  trusted_image_owners: [amazon, aws-marketplace, "123456789012"]   # owner ids or aliases
  trusted_images: [ami-0abcdef1234567890]
  image_owners: {ami-0123456789abcdef0: "210987654321"}            # your own inventory
  launch_thresholds:
    accelerator_families: [p, g, gr, inf, trn, dl]
    min_vcpus: 32
    min_instance_count: 10
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from imagehunt.errors import ConfigError

MAX_CONFIG_BYTES = 1024 * 1024
DEFAULT_ACCELERATOR_FAMILIES = ("p", "g", "gr", "inf", "trn", "dl")


@dataclass(frozen=True)
class LaunchThresholds:
    """When an instance launch looks like mining capacity (the issue's "mining pattern")."""

    accelerator_families: tuple[str, ...] = DEFAULT_ACCELERATOR_FAMILIES
    min_vcpus: int = 32
    min_instance_count: int = 10


@dataclass(frozen=True)
class CloudTrust:
    """Images and image owners the user trusts, and what they know about owners."""

    trusted_owners: frozenset[str] = frozenset()
    trusted_images: frozenset[str] = frozenset()
    image_owners: Mapping[str, str] = field(default_factory=dict)
    thresholds: LaunchThresholds = LaunchThresholds()

    @property
    def has_trust_list(self) -> bool:
        """True when the user said which images or owners they trust."""
        return bool(self.trusted_owners or self.trusted_images)


@dataclass(frozen=True)
class Config:
    """Everything read from the config file."""

    path: str | None = None
    cloud: CloudTrust = CloudTrust()


class _Located:
    """A composed YAML tree, to name the line of a key in errors."""

    def __init__(self, path: str, root: yaml.Node | None) -> None:
        self.path = path
        self.root = root

    def line_of(self, *keys: str) -> int | None:
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for key in keys:
            if not isinstance(node, yaml.MappingNode):
                return line
            for key_node, value_node in node.value:
                if key_node.value == key:
                    node, line = value_node, key_node.start_mark.line + 1
                    break
            else:
                return line
        return line

    def error(self, message: str, *keys: str) -> ConfigError:
        return ConfigError(message, file=self.path, line=self.line_of(*keys))


def _strings(where: _Located, value: Any, *keys: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise where.error(f"'{'.'.join(keys)}' must be a list of texts", *keys)
    return tuple(str(v).strip() for v in value if str(v).strip())


def _positive_int(where: _Located, value: Any, default: int, *keys: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.error(f"'{'.'.join(keys)}' must be a whole number of 1 or more", *keys)
    return value


def _section(where: _Located, doc: Mapping[str, Any], key: str, *parents: str) -> dict[str, Any]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error(f"'{'.'.join((*parents, key))}' must be a mapping", *parents, key)
    return value


def _check_keys(where: _Located, doc: Mapping[str, Any], allowed: set[str], *parents: str) -> None:
    for key in doc:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise where.error(f"unknown key '{key}' (known: {known})", *parents, str(key))


def _cloud(where: _Located, doc: Mapping[str, Any]) -> CloudTrust:
    cloud = _section(where, doc, "cloud")
    allowed = {"trusted_image_owners", "trusted_images", "image_owners", "launch_thresholds"}
    _check_keys(where, cloud, allowed, "cloud")
    owners_doc = cloud.get("image_owners") or {}
    if not isinstance(owners_doc, dict):
        raise where.error("'cloud.image_owners' must map image ids to owner ids", "cloud")
    limits = _section(where, cloud, "launch_thresholds", "cloud")
    path = ("cloud", "launch_thresholds")
    _check_keys(where, limits, {"accelerator_families", "min_vcpus", "min_instance_count"}, *path)
    families = _strings(where, limits.get("accelerator_families"), *path, "accelerator_families")
    thresholds = LaunchThresholds(
        accelerator_families=tuple(f.lower() for f in families)
        if "accelerator_families" in limits
        else DEFAULT_ACCELERATOR_FAMILIES,
        min_vcpus=_positive_int(where, limits.get("min_vcpus"), 32, *path, "min_vcpus"),
        min_instance_count=_positive_int(
            where, limits.get("min_instance_count"), 10, *path, "min_instance_count"
        ),
    )
    owners = _strings(where, cloud.get("trusted_image_owners"), "cloud", "trusted_image_owners")
    return CloudTrust(
        trusted_owners=frozenset(o.lower() for o in owners),
        trusted_images=frozenset(
            i.lower()
            for i in _strings(where, cloud.get("trusted_images"), "cloud", "trusted_images")
        ),
        image_owners={str(k).lower(): str(v) for k, v in owners_doc.items()},
        thresholds=thresholds,
    )


def load_config(path: Path | None) -> Config:
    """Read and check the config file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config larger than {MAX_CONFIG_BYTES} bytes", file=path)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config: {exc}", file=path) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {exc}", file=path, line=line) from exc
    where = _Located(str(path), root)
    if doc is None:
        return Config(path=str(path))
    if not isinstance(doc, dict):
        raise where.error("the config must be a mapping of sections")
    _check_keys(where, doc, {"cloud"})
    return Config(path=str(path), cloud=_cloud(where, doc))
