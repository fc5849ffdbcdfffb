"""Limits a hostile or broken client meets over real sockets: bounded buffers, fair turns,
idle timeout on complete requests only, per-host connection limit, rate-limited logs."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import pytest

from custom_components.modbus_server.modbus import Area, Request, Server, pdu as P
from custom_components.modbus_server.modbus.loglimit import LogLimiter

from .client import MBAP, Memory, RawClient, frame, memory_server, write_buffer_size

# Responses a server may hold per connection, whatever its callbacks and clients do.
RESPONSE_BUFFER_BOUND = 1 << 20
READ_125 = P.encode_read_request(3, 0, 125)
SERVER_LOGGER = "custom_components.modbus_server.modbus"


@pytest.fixture
def memory() -> Memory:
    return Memory()


def ours(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The server's log records (not asyncio's slow-callback warnings on a busy machine)."""
    return [r for r in caplog.records if r.name.startswith(SERVER_LOGGER)]


async def connect_from(port: int, source: str) -> RawClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    return RawClient(reader, writer)


async def until_idle(server: Server, samples: int = 10) -> int:
    """Wait until the server stops answering requests; return the peak of its write buffers."""
    peak, last, still = 0, -1, 0
    while still < samples:
        await asyncio.sleep(0.02)
        peak = max(peak, write_buffer_size(server))
        requests = server.stats.counters.requests
        still = still + 1 if requests == last else 0
        last = requests
    return peak


async def receive_frames(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, count: int
) -> list[tuple[int, bytes]]:
    """Read `count` response frames from a raw socket: (transaction id, pdu) each."""
    data = bytearray()
    frames: list[tuple[int, bytes]] = []
    pos = 0
    while len(frames) < count:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 1 << 16), 5)
        assert chunk, "server closed the connection"
        data += chunk
        while len(data) - pos >= 7:
            tid, _, length, _ = MBAP.unpack_from(data, pos)
            if len(data) - pos < 6 + length:
                break
            frames.append((tid, bytes(data[pos + 7 : pos + 6 + length])))
            pos += 6 + length
    return frames


@pytest.mark.parametrize("write_callback", ["sync", "awaited"])
async def test_client_that_stops_reading_keeps_buffers_bounded_then_gets_every_answer(
    memory: Memory, write_callback: str
) -> None:
    """One FC06 (its callback awaited or not), then 30000 pipelined reads nobody reads."""

    async def slow_write(request: Request, area: Area, address: int, values: list[Any]) -> None:
        await asyncio.sleep(0.05)
        memory.on_write(request, area, address, values)

    count = 30000
    options = {"on_write": slow_write} if write_callback == "awaited" else {}
    loop = asyncio.get_running_loop()
    async with memory_server(memory, **options) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", server.port))
        stream = frame(P.encode_write_single_register_request(0, 7), transaction_id=0)
        stream += b"".join(frame(READ_125, transaction_id=tid) for tid in range(1, count + 1))
        sender = asyncio.create_task(loop.sock_sendall(sock, stream))

        peak = await until_idle(server)
        assert peak < RESPONSE_BUFFER_BOUND
        assert server.stats.counters.requests < count + 1  # the rest waits in TCP

        frames = await receive_frames(loop, sock, count + 1)
        await sender
        assert frames[0] == (0, P.encode_write_single_register_request(0, 7))
        expected = P.encode_read_registers_response(3, [7, *range(1, 125)])
        assert [tid for tid, _ in frames[1:]] == list(range(1, count + 1))
        assert all(pdu == expected for _, pdu in frames[1:])
        sock.close()


async def test_hostile_pipelining_client_does_not_delay_others_until_it_is_done(
    memory: Memory,
) -> None:
    """A bystander's request, sent right after a 32 KB burst, is served amid the burst."""
    served: list[int] = []

    def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        served.append(request.client.port)
        return memory.on_read(request, area, address, count)

    frames = 32 * 1024 // 12
    async with memory_server(memory, on_read=on_read) as server:
        hostile = await RawClient.connect(server.port)
        bystander = await RawClient.connect(server.port)
        hostile_port = hostile.writer.get_extra_info("sockname")[1]
        bystander_port = bystander.writer.get_extra_info("sockname")[1]
        hostile.writer.write(b"".join(frame(READ_125, tid) for tid in range(frames)))
        assert hostile.writer.transport.get_write_buffer_size() == 0  # all in the kernel
        bystander.writer.write(frame(P.encode_read_request(3, 5, 1), transaction_id=77))

        assert await bystander.receive() == (77, 0, 1, P.encode_read_registers_response(3, [5]))
        for tid in range(frames):
            assert (await hostile.receive())[0] == tid
        assert served.count(hostile_port) == frames
        assert served.index(bystander_port) < frames  # not after the hostile's last request
        await hostile.close()
        await bystander.close()


async def test_idle_timeout_counts_complete_requests_not_bytes(memory: Memory) -> None:
    """A byte every 0.1 s of a never-complete frame does not keep a 0.3 s idle slot."""
    async with memory_server(memory, idle_timeout=0.3) as server:
        trickler = await RawClient.connect(server.port)
        partial = frame(P.encode_write_multiple_registers_request(0, [1] * 100))
        sent = 0
        for byte in partial[:30]:
            if await trickler.is_closed(timeout=0.1):
                break
            trickler.writer.write(bytes((byte,)))
            sent += 1
        else:
            pytest.fail("the trickling client was never closed")
        assert sent < 30
        assert server.stats.connections == 0
        await trickler.close()


async def test_per_host_limit_refuses_the_excess_of_one_host_only(memory: Memory) -> None:
    async with memory_server(memory, max_connections=10, max_connections_per_host=2) as server:
        first = await RawClient.connect(server.port)
        second = await RawClient.connect(server.port)
        third = await RawClient.connect(server.port)
        other_host = await connect_from(server.port, "127.0.0.2")
        assert await third.is_closed()
        for client in (first, second, other_host):
            assert (await client.request(P.encode_read_request(3, 0, 1)))[0] == 3
        stats = server.stats
        assert stats.connections_rejected == 1
        assert stats.rejections == {"max_connections_per_host": 1}
        assert stats.as_dict()["rejections"] == {"max_connections_per_host": 1}
        await first.close()
        await asyncio.sleep(0.05)
        again = await RawClient.connect(server.port)  # a freed slot is usable again
        assert (await again.request(P.encode_read_request(3, 0, 1)))[0] == 3
        for client in (second, third, other_host, again):
            await client.close()


@pytest.mark.parametrize(("limit", "accepted"), [("default", 8), (None, 12)])
async def test_per_host_limit_defaults_to_8_and_none_means_no_limit(
    memory: Memory, limit: int | str | None, accepted: int
) -> None:
    options = {} if limit == "default" else {"max_connections_per_host": limit}
    async with memory_server(memory, **options) as server:
        clients = [await RawClient.connect(server.port) for _ in range(12)]
        closed = [await client.is_closed(timeout=0.2) for client in clients]
        assert closed == [False] * accepted + [True] * (12 - accepted)
        for client in clients:
            await client.close()


def test_per_host_limit_must_be_positive_or_none(memory: Memory) -> None:
    with pytest.raises(ValueError, match="max_connections_per_host"):
        memory_server(memory, max_connections_per_host=0)


async def test_refused_connections_are_logged_once_per_host_not_per_connection(
    memory: Memory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=SERVER_LOGGER)
    async with memory_server(memory, max_connections_per_host=1) as server:
        kept = await RawClient.connect(server.port)
        for _ in range(20):
            refused = await RawClient.connect(server.port)
            assert await refused.is_closed()
            await refused.close()
        assert server.stats.rejections == {"max_connections_per_host": 20}
        await kept.close()
    refusals = [r for r in ours(caplog) if r.getMessage().startswith("Refused")]
    assert [r.levelno for r in refusals] == [logging.INFO]
    assert "max_connections_per_host (1) reached" in refusals[0].getMessage()


async def test_bad_mbap_length_warns_once_per_host_not_per_connection(
    memory: Memory, caplog: pytest.LogCaptureFixture
) -> None:
    async with memory_server(memory) as server:
        for _ in range(20):
            client = await RawClient.connect(server.port)
            await client.send(bytes((0, 1, 0, 0, 0xFF, 0xFF, 1)))
            assert await client.is_closed()
            await client.close()
        assert server.stats.counters.framing_errors == 20
    warnings = [r for r in ours(caplog) if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "MBAP length 65535" in warnings[0].getMessage()


async def test_new_failure_kinds_without_end_do_not_log_an_error_each(
    memory: Memory, caplog: pytest.LogCaptureFixture
) -> None:
    """Every request fails with a new message: errors stop at the limiter's bound."""

    def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        raise RuntimeError(f"failure number {address}")

    limiter = LogLimiter()
    bound = limiter.max_keys + limiter.new_keys_per_interval
    kinds = bound + 300
    async with memory_server(memory, on_read=on_read) as server:
        client = await RawClient.connect(server.port)
        await client.send(
            b"".join(frame(P.encode_read_request(3, i, 1), transaction_id=i) for i in range(kinds))
        )
        for i in range(kinds):
            assert await client.receive() == (i, 0, 1, bytes((0x83, 4)))
        await client.close()
    errors = [r for r in ours(caplog) if r.levelno >= logging.ERROR]
    assert len(errors) == bound
    assert all(r.exc_info for r in errors)  # those that are logged keep their traceback


async def test_repeated_bad_mbap_lengths_get_one_summary_line_a_minute_with_the_count(
    memory: Memory, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]
    async with memory_server(memory) as server:
        server._log_limiter = LogLimiter(clock=lambda: now[0])
        for minute in (0, 0, 0, 0, 0, 1, 1):
            now[0] = minute * 60.0
            client = await RawClient.connect(server.port)
            await client.send(bytes((0, 1, 0, 0, 0, 1, 1)))  # length 1
            assert await client.is_closed()
            await client.close()
    warnings = [r.getMessage() for r in ours(caplog) if r.levelno >= logging.WARNING]
    assert len(warnings) == 2
    assert warnings[1].endswith("(4 more since the last such line)")
