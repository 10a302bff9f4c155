"""The package's live auditd session (imagehunt.emulate.live) for tests: skip, never fail,
when live tests are not asked for (IMAGEHUNT_LIVE_TESTS=1) or this host cannot audit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from imagehunt.emulate import live
from imagehunt.emulate.live import LiveAudit, LiveUnavailable


def require_live_host() -> None:
    """Skip unless live tests are asked for and this host can audit."""
    if os.environ.get("IMAGEHUNT_LIVE_TESTS") != "1":
        pytest.skip("live tests run only with IMAGEHUNT_LIVE_TESTS=1")
    try:
        live.check_host()
    except LiveUnavailable as exc:
        pytest.skip(str(exc))


@contextmanager
def live_audit() -> Iterator[LiveAudit]:
    """A live session, or a skip with the host's reason."""
    require_live_host()
    try:
        with live.live_audit() as session:
            yield session
    except LiveUnavailable as exc:
        pytest.skip(str(exc))
