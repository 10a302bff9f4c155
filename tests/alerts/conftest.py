"""Fixtures for the alert writer tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alert_factory import make_alert as _make_alert
from alert_factory import sample_alerts as _sample_alerts

from imagehunt.alerts.model import Alert


@pytest.fixture
def make_alert() -> Callable[..., Alert]:
    """The alert factory (keyword arguments override defaults)."""
    return _make_alert


@pytest.fixture
def alerts() -> list[Alert]:
    """Three alerts: high and critical on node-1, medium on node-2."""
    return _sample_alerts()
