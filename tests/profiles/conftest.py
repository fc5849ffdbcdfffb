"""Profile tests serve over real loopback sockets."""

from __future__ import annotations

import pytest
import pytest_socket


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Allow real loopback sockets, IPv4 and IPv6 (the HA test plugin blocks them)."""
    pytest_socket.socket_allow_hosts(["127.0.0.1", "::1"])
