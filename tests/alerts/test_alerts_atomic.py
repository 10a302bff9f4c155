"""write_atomic: all or nothing, and an unwritable target is a usage error naming it."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import pytest

from imagehunt.alerts.atomic import write_atomic
from imagehunt.errors import UsageError


def _hello(handle: TextIO) -> None:
    handle.write("hello\n")


def test_missing_folder_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / "absent" / "out.jsonl"
    with pytest.raises(UsageError) as caught:
        write_atomic(target, _hello)
    assert caught.value.exit_code == 2
    assert caught.value.file is not None and caught.value.file.endswith("absent/out.jsonl")
    assert "cannot write the output" in str(caught.value)


def test_a_folder_in_the_way_is_a_usage_error_and_leaves_no_temp_file(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(UsageError):
        write_atomic(tmp_path / "out", _hello)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failing_writer_leaves_the_old_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n", encoding="utf-8")

    def broken(handle: TextIO) -> None:
        handle.write("partial")
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        write_atomic(target, broken)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    write_atomic(target, _hello)
    assert target.read_text(encoding="utf-8") == "hello\n"
