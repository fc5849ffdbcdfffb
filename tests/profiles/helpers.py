"""Serve a compiled profile with the bare core server, for the decoders in these tests."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import AsyncIterator, Callable, Mapping

from pymodbus.client import AsyncModbusTcpClient

from custom_components.modbus_server.modbus import Server
from custom_components.modbus_server.profiles.compile import ProfileTable


@contextlib.asynccontextmanager
async def serving(
    table: ProfileTable,
    slots: Mapping[str, float | None] | Callable[[], Mapping[str, float | None]],
) -> AsyncIterator[Server]:
    """The table's device on 127.0.0.1, an ephemeral port, slot values from `slots`."""
    source = slots if callable(slots) else (lambda: slots)
    server = Server(host="127.0.0.1", port=0, devices=[table.device(source)])
    async with server:
        yield server


@contextlib.asynccontextmanager
async def client(server: Server) -> AsyncIterator[AsyncModbusTcpClient]:
    """A connected pymodbus client (closed on exit)."""
    modbus = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=2, retries=0)
    await modbus.connect()
    try:
        yield modbus
    finally:
        modbus.close()


def f32_abcd(registers: list[int], offset: int) -> float:
    """Float32, high word first (Eastron, Chint)."""
    value: float = struct.unpack(">f", struct.pack(">HH", *registers[offset : offset + 2]))[0]
    return value


def f32_cdab(registers: list[int], offset: int) -> float:
    """Float32, low word first (Shelly)."""
    hi, lo = registers[offset + 1], registers[offset]
    value: float = struct.unpack(">f", struct.pack(">HH", hi, lo))[0]
    return value


def s32_cdab(registers: list[int], offset: int) -> int:
    """Signed 32-bit, low word first (Carlo Gavazzi)."""
    value: int = struct.unpack(">i", struct.pack(">HH", registers[offset + 1], registers[offset]))[
        0
    ]
    return value
