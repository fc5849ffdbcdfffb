"""Server tests open real loopback sockets."""

from __future__ import annotations

import pytest
import pytest_socket

from .tls_pki import Pki, make_pki


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Allow real loopback sockets, IPv4 and IPv6 (the HA test plugin blocks them)."""
    pytest_socket.socket_allow_hosts(["127.0.0.1", "::1"])


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates for the TLS tests (a root and an intermediate CA, clients of every kind)."""
    return make_pki(tmp_path_factory.mktemp("pki"))
