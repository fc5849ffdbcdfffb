"""A raw Modbus TCP test client: exact bytes in, exact frames out."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from typing import Any

from custom_components.modbus_server.modbus import Area, IllegalDataAddress, Request, Server

MBAP = struct.Struct(">HHHB")


def frame(pdu: bytes, transaction_id: int = 1, unit_id: int = 1, protocol_id: int = 0) -> bytes:
    """Wrap a PDU in an MBAP header."""
    return MBAP.pack(transaction_id, protocol_id, len(pdu) + 1, unit_id) + pdu


class RawClient:
    """Sends bytes as given and reads whole response frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._tid = 0

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> RawClient:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self, timeout: float = 2.0) -> tuple[int, int, int, bytes]:
        """Return (transaction_id, protocol_id, unit_id, pdu) of the next response."""
        header = await asyncio.wait_for(self.reader.readexactly(7), timeout)
        tid, pid, length, uid = MBAP.unpack(header)
        pdu = await asyncio.wait_for(self.reader.readexactly(length - 1), timeout)
        return tid, pid, uid, pdu

    async def request(self, pdu: bytes, unit_id: int = 1) -> bytes:
        """Send one PDU, return the response PDU (checking the echoed header)."""
        self._tid = (self._tid + 1) & 0xFFFF
        await self.send(frame(pdu, self._tid, unit_id))
        tid, pid, uid, response = await self.receive()
        assert (tid, pid, uid) == (self._tid, 0, unit_id)
        return response

    async def is_closed(self, timeout: float = 2.0) -> bool:
        """True when the server closed the connection (EOF or reset) within `timeout`."""
        try:
            data = await asyncio.wait_for(self.reader.read(1), timeout)
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return data == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class Memory:
    """In-memory data for a test server: 65536 entries per area, writes recorded."""

    def __init__(self) -> None:
        self.data: dict[Area, list[int]] = {area: [0] * 0x10000 for area in Area}
        for i in range(0x10000):
            self.data[Area.HOLDING_REGISTER][i] = i
            self.data[Area.INPUT_REGISTER][i] = 0xFFFF - i
            self.data[Area.DISCRETE_INPUT][i] = i % 3 == 0
        self.writes: list[tuple[Area, int, list[Any]]] = []
        self.reads: list[tuple[Area, int, int]] = []

    def on_read(self, request: Request, area: Area, address: int, count: int) -> list[int]:
        self.reads.append((area, address, count))
        return self.data[area][address : address + count]

    def on_write(self, request: Request, area: Area, address: int, values: list[Any]) -> None:
        self.writes.append((area, address, list(values)))
        self.data[area][address : address + len(values)] = [int(v) for v in values]


def memory_server(memory: Memory, **kwargs: Any) -> Server:
    kwargs.setdefault("host", "127.0.0.1")
    kwargs.setdefault("port", 0)
    on_write: Callable[..., Any] | None = kwargs.pop("on_write", memory.on_write)
    return Server(on_read=kwargs.pop("on_read", memory.on_read), on_write=on_write, **kwargs)


def write_buffer_size(server: Server) -> int:
    """Response bytes the server holds for its clients (in its transports, not the kernel)."""
    return sum(
        connection._transport.get_write_buffer_size()
        for connection in server._connections
        if connection._transport is not None
    )


MAPPED = 1000  # mapped_server: addresses from here on are unmapped (exception 02)


def mapped_server(memory: Memory, **kwargs: Any) -> Server:
    """A memory server whose addresses end at MAPPED - 1."""

    def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        if address + count > MAPPED:
            raise IllegalDataAddress
        return memory.on_read(request, area, address, count)

    return memory_server(memory, on_read=on_read, **kwargs)
