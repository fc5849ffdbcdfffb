"""Random and mutated frames: the server never breaks, answers well-formed or closes.

Every fuzzer runs with plain callbacks and with async ones, which either return at once
(answered eagerly) or really suspend (the frames behind them wait), picked per request.
`MODBUS_FUZZ_ROUNDS` raises the number of random streams (default keeps CI fast).
"""

from __future__ import annotations

import asyncio
import os
import random
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from custom_components.modbus_server.modbus import Area, ClientInfo, Request, Server, pdu as P

from .client import MBAP, Memory, RawClient, frame, memory_server

ROUNDS = int(os.environ.get("MODBUS_FUZZ_ROUNDS", "300"))
EXCEPTION_CODES = {0x01, 0x02, 0x03, 0x04, 0x06}
CLIENT = ClientInfo("127.0.0.1", 1, datetime.now(UTC), 1)
CALLBACKS = ("sync", "awaited")


def fuzz_server(memory: Memory, callbacks: str, **kwargs: Any) -> Server:
    """A memory server; "awaited": async callbacks that suspend on odd addresses only."""
    if callbacks == "sync":
        return memory_server(memory, **kwargs)

    async def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        if address % 2:
            await asyncio.sleep(0)
        return memory.on_read(request, area, address, count)

    async def on_write(request: Request, area: Area, address: int, values: list[Any]) -> None:
        if address % 2:
            await asyncio.sleep(0)
        memory.on_write(request, area, address, values)

    return memory_server(memory, on_read=on_read, on_write=on_write, **kwargs)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One loop for all hypothesis examples (handle() runs callbacks in the running loop)."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def assert_well_formed(request: bytes, response: bytes) -> None:
    """A response carries the request's function code, or that code | 0x80 and a known code."""
    assert response, "empty response PDU"
    if response[0] & 0x80:
        assert response[0] == request[0] | 0x80
        assert len(response) == 2
        assert response[1] in EXCEPTION_CODES
    else:
        assert response[0] == request[0]


@pytest.mark.parametrize("callbacks", CALLBACKS)
def test_any_pdu_gets_a_well_formed_answer(loop: asyncio.AbstractEventLoop, callbacks: str) -> None:
    server = fuzz_server(Memory(), callbacks)

    async def answer(pdu: bytes, unit_id: int) -> bytes:
        response = server.handle(CLIENT, unit_id, pdu)
        assert response is not None  # one device answering any unit id
        return response if isinstance(response, bytes) else await response

    @settings(max_examples=1000, deadline=None)
    @given(st.binary(min_size=1, max_size=253), st.integers(0, 255))
    def check(pdu: bytes, unit_id: int) -> None:
        assert_well_formed(pdu, loop.run_until_complete(answer(pdu, unit_id)))

    check()


VALID_REQUESTS = [
    P.encode_read_request(1, 0, 16),
    P.encode_read_request(2, 100, 2000),
    P.encode_read_request(3, 0, 125),
    P.encode_read_request(4, 65530, 6),
    P.encode_write_single_coil_request(1, True),
    P.encode_write_single_register_request(1, 2),
    P.encode_write_multiple_coils_request(5, [True, False] * 9),
    P.encode_write_multiple_registers_request(5, [1, 2, 3]),
    P.encode_mask_write_request(1, 0xFF00, 0x00FF),
    P.encode_read_write_request(0, 3, 10, [4, 5]),
    P.encode_diagnostics_request(0, b"\x12\x34"),
    P.encode_device_id_request(1, 0),
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif choice < 0.6 and len(buf) > 1:
            del buf[rng.randrange(1, len(buf)) :]
        elif choice < 0.8:
            buf += rng.randbytes(rng.randint(1, 8))
        elif buf:
            buf[rng.randrange(len(buf))] = rng.choice((0, 0xFF, 0x80, 0x7F))
    return bytes(buf or b"\x03")


def random_frame(rng: random.Random, tid: int) -> bytes:
    kind = rng.random()
    if kind < 0.35:
        pdu = rng.choice(VALID_REQUESTS)
    elif kind < 0.7:
        pdu = mutate(rng, rng.choice(VALID_REQUESTS))
    else:
        pdu = rng.randbytes(rng.randint(1, 40))
    pdu = pdu[:253]
    if rng.random() < 0.05:  # broken MBAP header
        return struct.pack(">HHH", tid, rng.randrange(4), rng.randrange(0x10000)) + pdu
    return frame(pdu, transaction_id=tid, unit_id=rng.randrange(256), protocol_id=0)


def expected_answers(stream: bytes) -> tuple[bytes, list[tuple[int, bytes]], bool]:
    """Frame the stream as the spec says: (bytes to send, answered requests, must close).

    After a header with a bad length the server closes; the stream is cut after that
    header, since bytes sent to a closed socket make the kernel reset the connection.
    """
    answers = []
    pos = 0
    while len(stream) - pos >= 7:
        tid, pid, length, _ = MBAP.unpack_from(stream, pos)
        if not 2 <= length <= 254:
            return stream[: pos + 7], answers, True
        if pos + 6 + length > len(stream):
            break
        if pid == 0:
            answers.append((tid, stream[pos + 7 : pos + 6 + length]))
        pos += 6 + length
    return stream, answers, False


async def send_in_pieces(client: RawClient, rng: random.Random, stream: bytes) -> None:
    pos = 0
    while pos < len(stream):
        size = rng.choice((1, 2, 7, 13, 64, 300, len(stream)))
        client.writer.write(stream[pos : pos + size])
        pos += size
        if rng.random() < 0.3:
            await client.writer.drain()
            await asyncio.sleep(0)
    await client.writer.drain()


@pytest.mark.parametrize("callbacks", CALLBACKS)
async def test_random_streams_are_answered_in_order_or_closed(callbacks: str) -> None:
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))
    rng = random.Random(int(os.environ.get("MODBUS_FUZZ_SEED", "20261125")))
    memory = Memory()
    async with fuzz_server(
        memory, callbacks, max_connections=64, max_connections_per_host=None
    ) as server:
        witness = await RawClient.connect(server.port)
        for round_ in range(ROUNDS):
            stream = b"".join(random_frame(rng, tid) for tid in range(rng.randint(1, 12)))
            if rng.random() < 0.1:
                stream += rng.randbytes(rng.randint(1, 6))  # trailing partial frame
            stream, answers, must_close = expected_answers(stream)
            client = await RawClient.connect(server.port)
            await send_in_pieces(client, rng, stream)
            for tid, request in answers:
                got_tid, pid, _, response = await client.receive()
                assert (got_tid, pid) == (tid, 0), f"round {round_}"
                assert_well_formed(request, response)
            if must_close:
                assert await client.is_closed(), f"round {round_}: framing error not closed"
            else:
                assert not await client.is_closed(timeout=0.01), f"round {round_}: extra bytes"
            await client.close()
            if round_ % 25 == 0:  # other clients keep being served
                response = await witness.request(P.encode_read_request(4, 7, 1))
                assert P.decode_read_registers_response(response) == [0xFFFF - 7]
        await witness.close()
    assert not loop_errors
