"""Profile tests serve over real loopback sockets: the same fixture as the server tests."""

from __future__ import annotations

from ..modbus.conftest import _sockets

__all__ = ["_sockets"]
