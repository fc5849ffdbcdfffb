"""Server tests open real loopback sockets."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Allow real sockets (the Home Assistant test plugin blocks them by default)."""
