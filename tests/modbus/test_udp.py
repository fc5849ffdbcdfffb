"""Modbus UDP: pymodbus's UDP client, and raw datagrams the server must survive."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from pymodbus.client import AsyncModbusUdpClient

from custom_components.modbus_server.modbus import Area, Request, Server, UnknownUnit
from custom_components.modbus_server.modbus.framing import mbap
from custom_components.modbus_server.modbus.pdu import (
    encode_read_registers_response,
    encode_read_request,
)
from custom_components.modbus_server.modbus.transport import UdpListener

from .client import Memory, mapped_server
from .tools import EXERCISE_EXCEPTIONS, EXERCISE_REQUESTS, exercise_pymodbus_client

READ_HR_1 = encode_read_request(3, 10, 1)


@pytest.fixture
def memory() -> Memory:
    return Memory()


@pytest.fixture
async def udp(memory: Memory) -> AsyncIterator[UdpListener]:
    async with UdpListener(mapped_server(memory, unit_id=1), "127.0.0.1", 0) as listener:
        yield listener


@pytest.fixture
def peer() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


async def exchange(
    sock: socket.socket, port: int, datagram: bytes, timeout: float = 2.0
) -> bytes | None:
    """Send one datagram; the answer, or None when none came within `timeout`."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(sock, datagram, ("127.0.0.1", port))
    try:
        data, _ = await asyncio.wait_for(loop.sock_recvfrom(sock, 1024), timeout)
    except TimeoutError:
        return None
    return data


async def test_pymodbus_udp_client_uses_every_function_code(
    udp: UdpListener, memory: Memory
) -> None:
    client = AsyncModbusUdpClient("127.0.0.1", port=udp.port, timeout=2, retries=0)
    assert await client.connect()
    try:
        await exercise_pymodbus_client(client, memory)
    finally:
        client.close()
    assert udp.counters.requests == EXERCISE_REQUESTS
    assert udp.counters.exceptions == EXERCISE_EXCEPTIONS
    assert udp.clients[0].transport == "udp"


@pytest.mark.parametrize(
    "datagram",
    [
        b"",
        b"\x00\x01\x00",
        bytes.fromhex("0001 0000 0006 01 0300"),  # length says more than came
        bytes.fromhex("0001 0000 0003 01 03 00 0a 00 01"),  # length says less
        bytes.fromhex("0001 0000 0100 01") + bytes(255),  # length outside 2..254
        bytes.fromhex("0001 0000 0001 01"),  # unit id only, no function code
    ],
    ids=["empty", "short-header", "truncated", "trailing", "length-256", "no-pdu"],
)
async def test_malformed_datagram_is_dropped_and_the_next_one_answered(
    udp: UdpListener, peer: socket.socket, datagram: bytes
) -> None:
    assert await exchange(peer, udp.port, datagram, timeout=0.3) is None
    answer = await exchange(peer, udp.port, mbap.encode_frame(7, 1, READ_HR_1))
    assert answer == mbap.encode_frame(7, 1, encode_read_registers_response(3, [10]))
    assert udp.counters.framing_errors == 1
    assert udp.counters.requests == 1


async def test_many_malformed_datagrams_do_not_stop_the_server(
    udp: UdpListener, peer: socket.socket
) -> None:
    for i in range(50):
        await asyncio.get_running_loop().sock_sendto(
            peer, bytes([i]) * (i % 12), ("127.0.0.1", udp.port)
        )
    other_protocol = mbap.encode_frame(1, 1, READ_HR_1, protocol_id=1)
    assert await exchange(peer, udp.port, other_protocol, timeout=0.3) is None
    for tid in range(3):
        answer = await exchange(peer, udp.port, mbap.encode_frame(tid, 1, READ_HR_1))
        assert answer is not None
        assert mbap.decode_frame(answer)[0] == tid
    assert udp.counters.frames_ignored == 1
    assert udp.counters.framing_errors == 50


@pytest.mark.parametrize(
    ("unknown_unit", "expected"),
    [(UnknownUnit.EXCEPTION, b"\x83\x0b"), (UnknownUnit.SILENT, None)],
)
async def test_unknown_unit_follows_the_servers_setting(
    memory: Memory, peer: socket.socket, unknown_unit: UnknownUnit, expected: bytes | None
) -> None:
    server = mapped_server(memory, unit_id=1, unknown_unit=unknown_unit)
    async with UdpListener(server, "127.0.0.1", 0) as listener:
        answer = await exchange(peer, listener.port, mbap.encode_frame(3, 9, READ_HR_1), 0.3)
    assert answer == (None if expected is None else mbap.encode_frame(3, 9, expected))


async def test_datagrams_from_outside_the_allow_list_are_dropped(
    memory: Memory, peer: socket.socket
) -> None:
    server = mapped_server(memory, unit_id=1, allowed_clients=["192.0.2.0/24"])
    async with UdpListener(server, "127.0.0.1", 0) as listener:
        assert await exchange(peer, listener.port, mbap.encode_frame(1, 1, READ_HR_1), 0.3) is None
        assert listener.datagrams_refused == 1
    assert memory.reads == []


async def test_async_callback_answers_each_peer_its_own_transaction(
    memory: Memory, peer: socket.socket
) -> None:
    async def slow_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        await asyncio.sleep(0.01)
        return memory.on_read(request, area, address, count)

    async with UdpListener(Server(on_read=slow_read, unit_id=1), "127.0.0.1", 0) as listener:
        answer = await exchange(peer, listener.port, mbap.encode_frame(0xBEEF, 1, READ_HR_1))
    assert answer == mbap.encode_frame(0xBEEF, 1, encode_read_registers_response(3, [10]))
