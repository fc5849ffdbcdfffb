"""The server over real loopback sockets: every function code and exception path."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from typing import Any

import pytest

from custom_components.modbus_server.modbus import (
    Area,
    DeviceIdentification,
    IllegalDataAddress,
    IllegalDataValue,
    Request,
    Server,
    ServerDeviceBusy,
    ServerDeviceFailure,
    pdu as P,
)

from .client import Memory, RawClient, frame, memory_server


@pytest.fixture
def memory() -> Memory:
    return Memory()


async def served(server: Server) -> RawClient:
    await server.start()
    return await RawClient.connect(server.port)


async def test_port_zero_binds_a_free_port_and_reports_it(memory: Memory) -> None:
    async with memory_server(memory) as server:
        assert server.port != 0
        assert server.addresses == [("127.0.0.1", server.port)]
        client = await RawClient.connect(server.port)
        await client.close()


async def test_fc03_reads_holding_registers(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        response = await client.request(P.encode_read_request(3, 100, 3))
        assert response == bytes((3, 6, 0, 100, 0, 101, 0, 102))
        assert memory.reads == [(Area.HOLDING_REGISTER, 100, 3)]
        await client.close()


@pytest.mark.parametrize(
    ("fc", "area"),
    [
        (1, Area.COIL),
        (2, Area.DISCRETE_INPUT),
        (3, Area.HOLDING_REGISTER),
        (4, Area.INPUT_REGISTER),
    ],
)
async def test_reads_go_to_the_area_of_the_function_code(
    memory: Memory, fc: int, area: Area
) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        response = await client.request(P.encode_read_request(fc, 9, 12))
        expected = memory.data[area][9:21]
        if area.is_bit:
            assert P.decode_read_bits_response(response, 12) == [bool(v) for v in expected]
        else:
            assert P.decode_read_registers_response(response) == expected
        assert memory.reads == [(area, 9, 12)]
        await client.close()


async def test_bits_kept_one_byte_each_are_served_from_a_bytearray_slice(
    memory: Memory,
) -> None:
    """A callback may keep a bit area as a bytearray (libmodbus's layout): its slice is served."""
    bits = bytearray((i ^ (i >> 3)) & 1 for i in range(3000))

    def on_read(request: Request, area: Area, address: int, count: int) -> bytearray:
        return bits[address : address + count]

    async with memory_server(memory, on_read=on_read) as server:
        client = await RawClient.connect(server.port)
        response = await client.request(P.encode_read_request(1, 1000, 2000))
        assert P.decode_read_bits_response(response, 2000) == [bool(b) for b in bits[1000:3000]]
        await client.close()


async def test_maximum_quantities_are_served(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        bits = await client.request(P.encode_read_request(2, 0, 2000))
        assert P.decode_read_bits_response(bits, 2000) == [i % 3 == 0 for i in range(2000)]
        regs = await client.request(P.encode_read_request(3, 65411, 125))
        assert P.decode_read_registers_response(regs) == list(range(65411, 65536))
        await client.close()


@pytest.mark.parametrize(
    ("pdu", "code"),
    [
        (P.encode_read_request(1, 0, 0), 3),
        (P.encode_read_request(1, 0, 2001), 3),
        (P.encode_read_request(3, 0, 126), 3),
        (P.encode_read_request(4, 0, 0), 3),
        (P.encode_read_request(3, 65535, 2), 2),
        (P.encode_read_request(2, 65000, 1000), 2),
        (bytes((3, 0, 0, 0)), 3),
        (bytes((5, 0, 1, 0x12, 0x34)), 3),
        (bytes((0x10, 0, 0, 0, 124, 248)) + bytes(20), 3),
        (P.encode_write_multiple_registers_request(65535, [1, 2]), 2),
        (P.encode_write_multiple_coils_request(0, [1] * 1969), 3),
        (P.encode_write_multiple_coils_request(65530, [1] * 7), 2),
        (P.encode_read_write_request(0, 126, 0, [1]), 3),
        (P.encode_read_write_request(0, 1, 0, [1] * 121)[:7] + bytes((122, 244)) + bytes(8), 3),
        (P.encode_read_write_request(65535, 2, 0, [1]), 2),
        (P.encode_read_write_request(0, 1, 65535, [1, 1]), 2),
        (bytes((0x16, 0, 1, 0, 0)), 3),
        (P.encode_diagnostics_request(0x0001, b"\x00\x00"), 1),
        (bytes((0x2B, 0x0D, 0, 0)), 1),
        (P.encode_device_id_request(5, 0), 3),
        (P.encode_device_id_request(4, 0x42), 2),
        (bytes((0x07,)), 1),
        (bytes((0x0B,)), 1),
        (bytes((0x0C,)), 1),
        (bytes((0x11,)), 1),
        (bytes((0x14, 0)), 1),
        (bytes((0x18, 0, 0)), 1),
        (bytes((0x00,)), 1),
        (bytes((0x7F, 1, 2)), 1),
    ],
    ids=lambda v: v.hex() if isinstance(v, bytes) else str(v),
)
async def test_exception_codes(memory: Memory, pdu: bytes, code: int) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        response = await client.request(pdu)
        assert response == bytes((pdu[0] | 0x80, code))
        assert not memory.writes
        assert server.stats.counters.exceptions == {code: 1}
        await client.close()


async def test_function_code_with_high_bit_is_illegal_function(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        assert await client.request(bytes((0x83, 0, 0, 0, 1))) == bytes((0x83, 1))
        await client.close()


@pytest.mark.parametrize(
    "exc", [IllegalDataAddress, IllegalDataValue, ServerDeviceFailure, ServerDeviceBusy]
)
async def test_callback_exception_class_is_the_wire_code(
    memory: Memory, exc: type[Exception]
) -> None:
    def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        raise exc("nope")

    async with memory_server(memory, on_read=on_read) as server:
        client = await RawClient.connect(server.port)
        response = await client.request(P.encode_read_request(3, 0, 1))
        assert response == bytes((0x83, exc.code))  # type: ignore[attr-defined]
        await client.close()


async def test_unexpected_callback_error_is_logged_and_answers_04(
    memory: Memory, caplog: pytest.LogCaptureFixture
) -> None:
    def on_write(request: Request, area: Area, address: int, values: list[int]) -> None:
        raise KeyError("bug")

    async with memory_server(memory, on_write=on_write) as server:
        client = await RawClient.connect(server.port)
        for _ in range(3):
            response = await client.request(P.encode_write_single_register_request(1, 2))
            assert response == bytes((0x86, 4))
        # the connection still serves
        assert (await client.request(P.encode_read_request(3, 0, 1)))[0] == 3
        await client.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "KeyError" in errors[0].getMessage()


@pytest.mark.parametrize(
    ("values", "why"), [([1, 2], "too few"), ([70000], "out of range"), ([-1], "negative")]
)
async def test_bad_callback_results_answer_04(memory: Memory, values: list[int], why: str) -> None:
    async with memory_server(memory, on_read=lambda r, a, ad, c: values * (c // 3 + 1)) as server:
        client = await RawClient.connect(server.port)
        response = await client.request(P.encode_read_request(3, 0, 3 if why == "too few" else 1))
        assert response == bytes((0x83, 4)), why
        await client.close()


async def test_read_write_multiple_with_a_bad_read_result_answers_04(memory: Memory) -> None:
    async with memory_server(
        memory, on_read=lambda request, area, address, count: [70000] * count
    ) as srv:
        client = await RawClient.connect(srv.port)
        response = await client.request(P.encode_read_write_request(0, 2, 5, [1]))
        assert response == bytes((0x97, 4))
        assert memory.writes == [(Area.HOLDING_REGISTER, 5, [1])]  # the write came first
        await client.close()


async def test_no_on_write_answers_illegal_function_for_every_write(memory: Memory) -> None:
    writes = [
        P.encode_write_single_coil_request(0, True),
        P.encode_write_single_register_request(0, 1),
        P.encode_write_multiple_coils_request(0, [True]),
        P.encode_write_multiple_registers_request(0, [1]),
        P.encode_mask_write_request(0, 0, 0),
        P.encode_read_write_request(0, 1, 0, [1]),
    ]
    async with memory_server(memory, on_write=None) as server:
        client = await RawClient.connect(server.port)
        for pdu in writes:
            assert await client.request(pdu) == bytes((pdu[0] | 0x80, 1))
        assert (await client.request(P.encode_read_request(3, 0, 1)))[0] == 3
        await client.close()


async def test_write_single_coil_and_register_echo_the_request(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        on = P.encode_write_single_coil_request(7, True)
        assert await client.request(on) == on
        off = P.encode_write_single_coil_request(8, False)
        assert await client.request(off) == off
        reg = P.encode_write_single_register_request(9, 0xBEEF)
        assert await client.request(reg) == reg
        await client.close()
    assert memory.writes == [
        (Area.COIL, 7, [True]),
        (Area.COIL, 8, [False]),
        (Area.HOLDING_REGISTER, 9, [0xBEEF]),
    ]


async def test_write_multiple_answers_address_and_quantity(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        coils = [True, False, True] * 5
        response = await client.request(P.encode_write_multiple_coils_request(20, coils))
        assert P.decode_write_multiple_response(response) == (20, 15)
        regs = list(range(1000, 1123))
        response = await client.request(P.encode_write_multiple_registers_request(500, regs))
        assert P.decode_write_multiple_response(response) == (500, 123)
        await client.close()
    assert memory.writes == [(Area.COIL, 20, coils), (Area.HOLDING_REGISTER, 500, regs)]


async def test_mask_write_reads_modifies_and_writes(memory: Memory) -> None:
    memory.data[Area.HOLDING_REGISTER][4] = 0x12
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        request = P.encode_mask_write_request(4, 0xF2, 0x25)
        assert await client.request(request) == request
        await client.close()
    assert memory.data[Area.HOLDING_REGISTER][4] == 0x17


async def test_read_write_multiple_writes_before_reading(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        response = await client.request(P.encode_read_write_request(10, 4, 11, [7, 8]))
        assert P.decode_read_registers_response(response) == [10, 7, 8, 13]
        await client.close()
    assert memory.writes == [(Area.HOLDING_REGISTER, 11, [7, 8])]
    assert memory.reads == [(Area.HOLDING_REGISTER, 10, 4)]


async def test_diagnostics_return_query_data_echoes(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        request = P.encode_diagnostics_request(0, b"\xa5\x37hello")
        assert await client.request(request) == request
        await client.close()


async def test_device_identification_basic_regular_and_individual(memory: Memory) -> None:
    ident = DeviceIdentification(
        vendor_name="Home Assistant",
        product_code="modbus_server",
        revision="1.2.3",
        product_name="Modbus Server",
        model_name="Boiler room",
    )
    async with memory_server(memory, device_identification=ident) as server:
        client = await RawClient.connect(server.port)
        basic = P.decode_device_id_response(await client.request(P.encode_device_id_request(1, 0)))
        assert basic == (
            1,
            0x82,
            None,
            [(0, b"Home Assistant"), (1, b"modbus_server"), (2, b"1.2.3")],
        )
        regular = P.decode_device_id_response(
            await client.request(P.encode_device_id_request(2, 0))
        )
        assert regular[3][3:] == [(4, b"Modbus Server"), (5, b"Model name"[:0] + b"Boiler room")]
        # extended asked, regular conformity: answered at the regular level
        extended = P.decode_device_id_response(
            await client.request(P.encode_device_id_request(3, 0))
        )
        assert extended[3] == regular[3]
        individual = P.decode_device_id_response(
            await client.request(P.encode_device_id_request(4, 5))
        )
        assert individual == (4, 0x82, None, [(5, b"Boiler room")])
        # unknown object in stream access restarts at the first object
        restart = P.decode_device_id_response(
            await client.request(P.encode_device_id_request(1, 0x50))
        )
        assert restart == basic
        await client.close()


async def test_device_identification_splits_long_streams(memory: Memory) -> None:
    ident = DeviceIdentification(extended={0x80 + i: bytes([65 + i]) * 100 for i in range(5)})
    async with memory_server(memory, device_identification=ident) as server:
        client = await RawClient.connect(server.port)
        seen: list[tuple[int, bytes]] = []
        object_id = 0
        while True:
            _, conformity, next_id, objects = P.decode_device_id_response(
                await client.request(P.encode_device_id_request(3, object_id))
            )
            assert conformity == 0x83
            seen += objects
            if next_id is None:
                break
            object_id = next_id
        assert [oid for oid, _ in seen] == [0, 1, 2, 0x80, 0x81, 0x82, 0x83, 0x84]
        await client.close()


async def test_transaction_and_unit_ids_are_echoed(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        await client.send(frame(P.encode_read_request(3, 0, 1), transaction_id=0xBEEF, unit_id=77))
        tid, pid, uid, _ = await client.receive()
        assert (tid, pid, uid) == (0xBEEF, 0, 77)
        await client.close()


async def test_other_unit_ids_get_gateway_target_failed(memory: Memory) -> None:
    async with memory_server(memory, unit_id=5) as server:
        client = await RawClient.connect(server.port)
        assert (await client.request(P.encode_read_request(3, 0, 1), unit_id=5))[0] == 3
        for unit in (0, 1, 6, 255):
            response = await client.request(P.encode_read_request(3, 0, 1), unit_id=unit)
            assert response == bytes((0x83, 0x0B))
        await client.close()
    assert memory.reads == [(Area.HOLDING_REGISTER, 0, 1)]


async def test_nonzero_protocol_id_is_not_answered(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        await client.send(frame(P.encode_read_request(3, 0, 1), transaction_id=1, protocol_id=1))
        await client.send(frame(P.encode_read_request(3, 5, 1), transaction_id=2))
        tid, _, _, pdu = await client.receive()
        assert (tid, pdu) == (2, bytes((3, 2, 0, 5)))
        assert server.stats.counters.frames_ignored == 1
        await client.close()


@pytest.mark.parametrize("length", [0, 1, 255, 0xFFFF])
async def test_bad_mbap_length_closes_the_connection(memory: Memory, length: int) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        good = await RawClient.connect(server.port)
        await client.send(b"\x00\x01\x00\x00" + length.to_bytes(2, "big") + b"\x01\x03\x00\x00")
        assert await client.is_closed()
        assert server.stats.counters.framing_errors == 1
        assert (await good.request(P.encode_read_request(3, 0, 1)))[0] == 3
        await good.close()
        await client.close()


async def test_many_frames_in_one_segment_are_all_answered_in_order(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        burst = b"".join(frame(P.encode_read_request(3, i, 1), transaction_id=i) for i in range(50))
        await client.send(burst)
        for i in range(50):
            tid, _, _, pdu = await client.receive()
            assert (tid, pdu) == (i, bytes((3, 2)) + i.to_bytes(2, "big"))
        await client.close()


async def test_one_frame_split_byte_by_byte(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        client.writer.transport.set_write_buffer_limits(0)
        sock = client.writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = frame(P.encode_write_multiple_registers_request(3, [1, 2, 3]), transaction_id=9)
        for byte in data:
            await client.send(bytes((byte,)))
            await asyncio.sleep(0.002)
        tid, _, _, pdu = await client.receive()
        assert (tid, P.decode_write_multiple_response(pdu)) == (9, (3, 3))
        await client.close()


async def test_pipelined_requests_with_async_callbacks_keep_order(memory: Memory) -> None:
    """Writes and reads interleaved, 200 in flight: every response, in order, consistent."""
    delays = iter([0.01, 0, 0.005] * 1000)

    async def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        await asyncio.sleep(next(delays))
        return memory.on_read(request, area, address, count)

    async def on_write(request: Request, area: Area, address: int, values: list[Any]) -> None:
        await asyncio.sleep(next(delays))
        memory.on_write(request, area, address, values)

    async with memory_server(memory, on_read=on_read, on_write=on_write) as server:
        client = await RawClient.connect(server.port)
        frames = []
        for i in range(100):
            frames.append(frame(P.encode_write_single_register_request(0, i), transaction_id=2 * i))
            frames.append(frame(P.encode_read_request(3, 0, 1), transaction_id=2 * i + 1))
        await client.send(b"".join(frames))
        for i in range(100):
            tid, _, _, pdu = await client.receive()
            assert tid == 2 * i
            assert pdu == P.encode_write_single_register_request(0, i)
            tid, _, _, pdu = await client.receive()
            assert (tid, P.decode_read_registers_response(pdu)) == (2 * i + 1, [i])
        await client.close()


async def test_async_callbacks_that_do_not_suspend_are_answered_like_plain_ones(
    memory: Memory,
) -> None:
    """Plain writes and async reads that return at once, pipelined: one loop iteration."""
    loop = asyncio.get_running_loop()
    iteration = 0
    seen: list[int] = []

    def tick() -> None:
        nonlocal iteration
        iteration += 1
        loop.call_soon(tick)

    async def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        async with asyncio.timeout(1):  # runs in a task of its own: asyncio.timeout works
            seen.append(iteration)
            return memory.on_read(request, area, address, count)

    def on_write(request: Request, area: Area, address: int, values: list[Any]) -> None:
        seen.append(iteration)
        memory.on_write(request, area, address, values)

    async with memory_server(memory, on_read=on_read, on_write=on_write) as server:
        client = await RawClient.connect(server.port)
        tick()
        requests = []
        for i in range(5):
            requests.append(P.encode_write_single_register_request(i, 100 + i))
            requests.append(P.encode_read_request(3, i, 1))
        await client.send(b"".join(frame(pdu, transaction_id=n) for n, pdu in enumerate(requests)))
        for n, pdu in enumerate(requests):
            expected = P.encode_read_registers_response(3, [100 + n // 2]) if n % 2 else pdu
            assert await client.receive() == (n, 0, 1, expected)
        assert len(seen) == 10
        assert len(set(seen)) == 1  # no request waited for a turn of the loop
        await client.close()


async def test_mixed_sync_and_async_answers_keep_order(memory: Memory) -> None:
    async def slow_write(request: Request, area: Area, address: int, values: list[Any]) -> None:
        await asyncio.sleep(0.05)
        memory.on_write(request, area, address, values)

    async with memory_server(memory, on_write=slow_write) as server:
        client = await RawClient.connect(server.port)
        burst = [
            frame(P.encode_read_request(3, 1, 1), transaction_id=1),
            frame(P.encode_write_single_register_request(1, 99), transaction_id=2),
            frame(P.encode_read_request(3, 1, 1), transaction_id=3),
        ]
        await client.send(b"".join(burst))
        answers = [await client.receive() for _ in range(3)]
        assert [a[0] for a in answers] == [1, 2, 3]
        assert P.decode_read_registers_response(answers[0][3]) == [1]
        assert P.decode_read_registers_response(answers[2][3]) == [99]
        await client.close()


async def test_hanging_callback_stalls_only_its_connection(
    memory: Memory, caplog: pytest.LogCaptureFixture
) -> None:
    hang = asyncio.Event()

    async def on_write(request: Request, area: Area, address: int, values: list[Any]) -> None:
        await hang.wait()

    async with memory_server(memory, on_write=on_write, callback_timeout=0.3) as server:
        stuck = await RawClient.connect(server.port)
        other = await RawClient.connect(server.port)
        await stuck.send(frame(P.encode_write_single_register_request(0, 1), transaction_id=1))
        await stuck.send(frame(P.encode_read_request(3, 0, 1), transaction_id=2))
        await asyncio.sleep(0.05)
        for _ in range(20):
            assert (await other.request(P.encode_read_request(3, 0, 1)))[0] == 3
        assert (await stuck.receive())[3] == bytes((0x86, 0x06))
        tid, _, _, pdu = await stuck.receive()
        assert (tid, pdu[0]) == (2, 3)
        # a second timeout is not logged again at error level
        await stuck.send(frame(P.encode_write_single_register_request(0, 1), transaction_id=3))
        assert (await stuck.receive())[3] == bytes((0x86, 0x06))
        await stuck.close()
        await other.close()
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


async def test_timeout_can_answer_server_device_failure(memory: Memory) -> None:
    async def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        await asyncio.sleep(5)
        return [0] * count

    server = memory_server(
        memory, on_read=on_read, callback_timeout=0.1, timeout_exception=ServerDeviceFailure
    )
    async with server:
        client = await RawClient.connect(server.port)
        assert await client.request(P.encode_read_request(4, 0, 1)) == bytes((0x84, 4))
        await client.close()


async def test_callbacks_are_told_the_unit_and_the_client(memory: Memory) -> None:
    seen: list[tuple[str, int, int, int]] = []

    async def on_write(request: Request, area: Area, address: int, values: list[Any]) -> None:
        await asyncio.sleep(0)
        client = request.client
        seen.append((client.host, client.port, request.unit_id, request.function_code))

    async with memory_server(memory, on_write=on_write) as server:
        client = await RawClient.connect(server.port)
        local_port = client.writer.get_extra_info("sockname")[1]
        await client.request(P.encode_write_single_coil_request(0, True), unit_id=17)
        await client.close()
    assert seen == [("127.0.0.1", local_port, 17, 5)]


async def test_max_connections_closes_the_excess_only(memory: Memory) -> None:
    async with memory_server(memory, max_connections=2) as server:
        first = await RawClient.connect(server.port)
        second = await RawClient.connect(server.port)
        third = await RawClient.connect(server.port)
        assert await third.is_closed()
        for client in (first, second):
            assert (await client.request(P.encode_read_request(3, 0, 1)))[0] == 3
        assert server.stats.connections_rejected == 1
        await first.close()
        await asyncio.sleep(0.05)
        fourth = await RawClient.connect(server.port)
        assert (await fourth.request(P.encode_read_request(3, 0, 1)))[0] == 3
        for client in (second, third, fourth):
            await client.close()


async def test_allow_list_refuses_other_clients_before_reading(memory: Memory) -> None:
    async with memory_server(memory, allowed_clients=["10.0.0.0/8"]) as server:
        client = await RawClient.connect(server.port)
        await client.send(frame(P.encode_write_single_coil_request(0, True)))
        assert await client.is_closed()
        await client.close()
    assert not memory.writes
    async with memory_server(memory, allowed_clients=["10.1.2.3", "127.0.0.0/8"]) as server:
        client = await RawClient.connect(server.port)
        assert (await client.request(P.encode_read_request(3, 0, 1)))[0] == 3
        await client.close()


async def test_idle_timeout_closes_silent_connections(memory: Memory) -> None:
    async with memory_server(memory, idle_timeout=0.3) as server:
        idle = await RawClient.connect(server.port)
        busy = await RawClient.connect(server.port)
        for _ in range(6):
            assert (await busy.request(P.encode_read_request(3, 0, 1)))[0] == 3
            await asyncio.sleep(0.1)
        assert await idle.is_closed(timeout=0.1) or await idle.is_closed(timeout=1)
        assert (await busy.request(P.encode_read_request(3, 0, 1)))[0] == 3
        await idle.close()
        await busy.close()


async def test_counters_per_connection_and_server(memory: Memory) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        await client.request(P.encode_read_request(3, 0, 2))
        await client.request(P.encode_read_request(3, 0, 0))
        (info,) = server.connections
        assert info.counters.requests == 2
        assert info.counters.exceptions == {3: 1}
        assert info.counters.bytes_received == 24
        assert info.counters.bytes_sent == 13 + 9
        assert info.last_request is not None
        await client.close()
        await asyncio.sleep(0.05)
        stats = server.stats
        assert stats.connections == 0
        assert stats.connections_total == 1
        assert stats.counters.requests == 2
        assert stats.as_dict()["exceptions"] == {"0x03": 1}


async def test_stop_closes_clients_and_frees_the_port(memory: Memory) -> None:
    server = memory_server(memory)
    client = await served(server)
    port = server.port
    await server.stop()
    assert await client.is_closed()
    await client.close()
    again = memory_server(memory, port=port)
    async with again:
        assert again.port == port


async def test_port_in_use_raises_eaddrinuse(memory: Memory) -> None:
    async with memory_server(memory) as server:
        clash = memory_server(memory, port=server.port)
        with pytest.raises(OSError, match="address already in use") as caught:
            await clash.start()
        assert caught.value.errno == errno.EADDRINUSE
        assert not clash.is_serving


async def test_ipv6_and_both_families(memory: Memory) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    async with memory_server(memory, host=["127.0.0.1", "::1"]) as server:
        assert {family for family, _ in server.addresses} == {"127.0.0.1", "::1"}
        for host in ("127.0.0.1", "::1"):
            client = await RawClient.connect(server.port, host=host)
            assert (await client.request(P.encode_read_request(3, 0, 1)))[0] == 3
            assert server.connections[-1].host == host
            await client.close()


async def test_wire_logging_is_off_by_default_and_hex_when_enabled(
    memory: Memory, caplog: pytest.LogCaptureFixture
) -> None:
    async with memory_server(memory) as server:
        client = await RawClient.connect(server.port)
        with caplog.at_level(logging.INFO):
            await client.request(P.encode_read_request(3, 0, 1))
        assert not [r for r in caplog.records if r.name.endswith(".wire")]
        with caplog.at_level(logging.DEBUG, logger="custom_components.modbus_server.modbus.wire"):
            await client.request(P.encode_read_request(3, 0, 1))
        wire = [r.getMessage() for r in caplog.records if r.name.endswith(".wire")]
        assert any("00 02 00 00 00 06 01 03 00 00 00 01" in m for m in wire)
        await client.close()
