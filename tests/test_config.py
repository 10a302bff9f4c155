"""The config file: parsed values, defaults, and errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagehunt.config import MAX_CONFIG_BYTES, load_config
from imagehunt.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "imagehunt.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_defaults() -> None:
    config = load_config(None)
    assert not config.cloud.has_trust_list
    assert config.cloud.thresholds.min_vcpus == 32
    assert config.cloud.thresholds.min_instance_count == 10
    assert "p" in config.cloud.thresholds.accelerator_families


def test_values_are_read_and_normalised(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
cloud:
  trusted_image_owners: [Amazon, 123456789012]
  trusted_images: [AMI-0ABC]
  image_owners: {ami-0def: 210987654321}
  launch_thresholds:
    accelerator_families: [P, g]
    min_vcpus: 64
    min_instance_count: 5
""",
    )
    cloud = load_config(path).cloud
    assert cloud.trusted_owners == {"amazon", "123456789012"}
    assert cloud.trusted_images == {"ami-0abc"}
    assert cloud.image_owners == {"ami-0def": "210987654321"}
    assert cloud.thresholds.accelerator_families == ("p", "g")
    assert (cloud.thresholds.min_vcpus, cloud.thresholds.min_instance_count) == (64, 5)
    assert cloud.has_trust_list


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("cloud:\n  trusted_imgs: [ami-1]\n", 2, "unknown key 'trusted_imgs'"),
        ("clouds: {}\n", 1, "unknown key 'clouds'"),
        ("cloud:\n  launch_thresholds:\n    min_vcpus: -3\n", 3, "whole number"),
        ("cloud:\n  launch_thresholds:\n    min_vcpus: yes\n", 3, "whole number"),
        ("cloud:\n  trusted_images: ami-1\n", 2, "list of texts"),
        ("cloud: [1, 2]\n", 1, "must be a mapping"),
        ("cloud:\n  trusted_images: [ami-1\n", 3, "invalid YAML"),
        ("- just\n- a list\n", 1, "mapping of sections"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert words in caught.value.message


def test_yaml_tags_are_not_constructed(tmp_path: Path) -> None:
    path = _write(tmp_path, "cloud: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(path)


def test_oversized_config_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match="larger than"):
        load_config(path)
