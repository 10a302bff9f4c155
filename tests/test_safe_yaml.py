"""safe_yaml: plain values only (no Python objects), document lines, C loader when present."""

from __future__ import annotations

import pytest
import yaml

from imagehunt import safe_yaml


def test_python_object_tags_are_refused() -> None:
    for hostile in (
        "!!python/object/apply:os.system ['true']",
        "x: !!python/name:os.system",
    ):
        with pytest.raises(yaml.constructor.ConstructorError):
            safe_yaml.load(hostile)


def test_documents_carry_their_first_line() -> None:
    text = "a: 1\n---\n# comment\nb: [x, y]\n---\nc: {d: 2}\n"
    assert safe_yaml.documents(text) == [
        (1, {"a": 1}),
        (4, {"b": ["x", "y"]}),
        (6, {"c": {"d": 2}}),
    ]


def test_same_values_as_the_pure_python_safe_loader() -> None:
    text = "t: 2026-11-22\nn: 010\nf: 1e3\nb: yes\ns: 'x: y'\nl: [1, ~, .inf]\n"
    assert safe_yaml.load(text) == yaml.load(text, Loader=yaml.SafeLoader)
    assert safe_yaml.LOADER in (getattr(yaml, "CSafeLoader", None), yaml.SafeLoader)
