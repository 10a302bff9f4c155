"""Where the shared corpus of real public telemetry is, when it is beside the checkout.

Users' clones don't have it: tests that read it call ``corpus_dir`` and skip cleanly.
``IMAGEHUNT_CORPUS`` overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def corpus_root() -> Path:
    """The corpus folder (it may not exist)."""
    return Path(os.environ.get("IMAGEHUNT_CORPUS", DEFAULT))


def corpus_dir(name: str) -> Path:
    """``corpus/<name>``, or skip the calling test when it is absent."""
    folder = corpus_root() / name
    if not folder.is_dir():
        pytest.skip(f"corpus folder {folder} is absent (it is not part of the project)")
    return folder
