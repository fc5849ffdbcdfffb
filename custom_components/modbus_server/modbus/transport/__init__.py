"""Transports besides the TCP server: serial line, RTU over TCP, UDP.

Each carries bytes to and from the same `Server` (its `handle`, unit dispatch and
devices), so a device answers the same way on every transport. They share one shape:
`start()`/`stop()` (or `async with`), and `diagnostics()` for plain-data state.
"""

from .rtu_tcp import RtuOverTcpDialer, RtuOverTcpListener
from .serial import SerialLine, SerialSettings, silence_time
from .udp import UdpListener

__all__ = [
    "RtuOverTcpDialer",
    "RtuOverTcpListener",
    "SerialLine",
    "SerialSettings",
    "UdpListener",
    "silence_time",
]
