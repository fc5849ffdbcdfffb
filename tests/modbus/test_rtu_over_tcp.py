"""RTU frames over TCP, both ways round: a gateway that connects to us, and one we dial.

The masters are pymodbus's TCP client with its RTU framer (what a gateway's TCP side
carries) and raw sockets; the dialling tests put a small byte pipe in the gateway's place,
with the pymodbus master behind it, as an EW11-style gateway has its RS485 master.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from custom_components.modbus_server.modbus import Area, UnknownUnit
from custom_components.modbus_server.modbus.framing import rtu
from custom_components.modbus_server.modbus.pdu import (
    encode_read_registers_response,
    encode_read_request,
)
from custom_components.modbus_server.modbus.transport import (
    RtuOverTcpDialer,
    RtuOverTcpListener,
)

from .client import Memory, mapped_server
from .gateway import Gateway
from .tools import EXERCISE_EXCEPTIONS, EXERCISE_REQUESTS, eventually, exercise_pymodbus_client

READ_HR_1 = encode_read_request(3, 10, 1)


@pytest.fixture
def memory() -> Memory:
    return Memory()


@pytest.fixture
async def listener(memory: Memory) -> AsyncIterator[RtuOverTcpListener]:
    server = mapped_server(memory, unit_id=1, unknown_unit=UnknownUnit.EXCEPTION)
    async with RtuOverTcpListener(server, "127.0.0.1", 0) as rtu_listener:
        yield rtu_listener


async def rtu_tcp_client(port: int) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, framer=FramerType.RTU, timeout=2)
    client.ctx.comm_params.reconnect_delay = 0  # one connection per test
    assert await client.connect()
    return client


class RawGateway:
    """The TCP side of a gateway: RTU bytes out, whatever comes back in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> RawGateway:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, count: int, timeout: float = 2.0) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(count), timeout)

    async def silent(self, timeout: float = 0.3) -> bool:
        try:
            await asyncio.wait_for(self.reader.read(1), timeout)
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def test_pymodbus_rtu_framer_over_tcp_uses_every_function_code(
    listener: RtuOverTcpListener, memory: Memory
) -> None:
    client = await rtu_tcp_client(listener.port)
    try:
        await exercise_pymodbus_client(client, memory)
    finally:
        client.close()
    assert listener.line.frames == EXERCISE_REQUESTS
    assert listener.line.crc_errors == 0


async def test_listener_stays_silent_for_other_units_and_bad_crc_and_passes_responses(
    listener: RtuOverTcpListener, memory: Memory
) -> None:
    gateway = await RawGateway.connect(listener.port)
    try:
        bad = bytearray(rtu.encode_frame(1, READ_HR_1))
        bad[3] ^= 0x10
        await gateway.send(bytes(bad))
        await gateway.send(rtu.encode_frame(9, READ_HR_1))  # another slave's request
        await gateway.send(rtu.encode_frame(9, encode_read_registers_response(3, [1])))
        assert await gateway.silent()
        # Split over three segments, then two requests in one segment.
        frame = rtu.encode_frame(1, READ_HR_1)
        for part in (frame[:1], frame[1:5], frame[5:]):
            await gateway.send(part)
            await asyncio.sleep(0.01)
        await gateway.send(frame + rtu.encode_frame(1, encode_read_request(3, 11, 1)))
        answers = [rtu.decode_frame(await gateway.read(7)) for _ in range(3)]
    finally:
        await gateway.close()
    assert answers == [(1, encode_read_registers_response(3, [value])) for value in (10, 10, 11)]
    assert listener.line.crc_errors == 1
    assert listener.line.other_units == 1
    assert listener.line.foreign_responses == 1
    assert listener.line.silence_violations == 0  # TCP keeps no silences to violate
    assert memory.reads == [(Area.HOLDING_REGISTER, a, 1) for a in (10, 10, 11)]


async def test_listener_refuses_gateways_outside_the_allow_list(memory: Memory) -> None:
    server = mapped_server(memory, unit_id=1, allowed_clients=["192.0.2.0/24"])
    async with RtuOverTcpListener(server, "127.0.0.1", 0) as rtu_listener:
        gateway = await RawGateway.connect(rtu_listener.port)
        try:
            await gateway.send(rtu.encode_frame(1, READ_HR_1))
            assert await gateway.reader.read(1) == b""  # closed without an answer
        finally:
            await gateway.close()
        assert rtu_listener.connections_rejected == 1
    assert memory.reads == []


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    pipe = Gateway()
    await pipe.start()
    yield pipe
    await pipe.stop()


async def test_dialler_serves_the_master_behind_a_gateway(gateway: Gateway, memory: Memory) -> None:
    server = mapped_server(memory, unit_id=1)
    async with RtuOverTcpDialer(server, "127.0.0.1", gateway.port) as dialer:
        await asyncio.wait_for(dialer.wait_connected(), 5)
        assert dialer.state == "connected"
        client = await rtu_tcp_client(gateway.master_port)
        try:
            await exercise_pymodbus_client(client, memory)
        finally:
            client.close()
        diagnostics = dialer.diagnostics()
        assert diagnostics["state"] == "connected"
        assert diagnostics["gateway"] == f"127.0.0.1:{gateway.port}"
        assert dialer.client is not None
        assert dialer.client.counters.requests == EXERCISE_REQUESTS
        assert dialer.client.counters.exceptions == EXERCISE_EXCEPTIONS
    assert dialer.state == "disconnected"


async def test_dialler_reconnects_after_the_gateway_drops_it(
    gateway: Gateway, memory: Memory
) -> None:
    server = mapped_server(memory, unit_id=1)
    async with RtuOverTcpDialer(server, "127.0.0.1", gateway.port, backoff=(0.05,)) as dialer:
        await asyncio.wait_for(gateway.slave_connected.wait(), 5)
        gateway.drop_slave()
        assert await eventually(lambda: dialer.connects == 2 and dialer.state == "connected")
        assert dialer.last_error is not None  # why the first connection ended
        await asyncio.wait_for(gateway.slave_connected.wait(), 5)
        client = await rtu_tcp_client(gateway.master_port)
        try:
            assert (await client.read_holding_registers(10, count=2)).registers == [10, 11]
        finally:
            client.close()


async def test_dialler_reports_a_gateway_that_does_not_answer(memory: Memory) -> None:
    gateway = Gateway()
    await gateway.start()
    port = gateway.port
    await gateway.stop()  # nothing listens there now
    server = mapped_server(memory, unit_id=1)
    async with RtuOverTcpDialer(server, "127.0.0.1", port, backoff=(0.05,)) as dialer:
        assert await eventually(lambda: dialer.last_error)
        assert dialer.state in ("disconnected", "connecting")
        assert "connect failed" in str(dialer.last_error)
        assert dialer.connects == 0
