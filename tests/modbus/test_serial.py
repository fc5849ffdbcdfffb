"""The RTU slave on a serial line: real masters (pymodbus, mbpoll, libmodbus) and raw bytes
through a socat pty pair, including the other slaves a real bus has."""

from __future__ import annotations

import asyncio
import errno
import termios
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest
from pymodbus.client import AsyncModbusSerialClient

from custom_components.modbus_server.modbus import (
    Area,
    Device,
    Request,
    Server,
    UnknownUnit,
)
from custom_components.modbus_server.modbus.framing import rtu
from custom_components.modbus_server.modbus.pdu import (
    encode_read_registers_response,
    encode_read_request,
    encode_write_single_register_request,
)
from custom_components.modbus_server.modbus.transport import (
    SerialLine,
    SerialSettings,
    silence_time,
)
from custom_components.modbus_server.modbus.transport.serial import Parity
from custom_components.modbus_server.modbus.transport.timer import PreciseTimer

from ..conftest import require_tool
from .client import MAPPED, Memory, mapped_server
from .serial_pair import RawLine, socat_pair
from .tools import (
    EXERCISE_EXCEPTIONS,
    EXERCISE_REQUESTS,
    build_libmodbus_client,
    eventually,
    exercise_pymodbus_client,
    libmodbus_lines,
    mbpoll_values,
    run,
)

READ_HR_1 = encode_read_request(3, 10, 1)  # answer: 7 bytes


@pytest.fixture
def memory() -> Memory:
    return Memory()


@pytest.fixture
async def pty() -> AsyncIterator[tuple[str, str]]:
    async with socat_pair() as pair:
        yield pair


@pytest.fixture
async def line(pty: tuple[str, str], memory: Memory) -> AsyncIterator[SerialLine]:
    """Our slave, unit 1, at 19200 8E1 on the slave end of the pair."""
    settings = SerialSettings(pty[0], baudrate=19200, parity="E", stopbits=1)
    async with SerialLine(mapped_server(memory, unit_id=1), settings) as serial_line:
        yield serial_line


@pytest.fixture
async def master(pty: tuple[str, str], line: SerialLine) -> AsyncIterator[RawLine]:
    raw = RawLine(pty[1])
    yield raw
    raw.close()


async def pymodbus_serial(path: str, baudrate: int, stopbits: int = 1) -> AsyncModbusSerialClient:
    """pymodbus's RTU master; parity N on its end, whatever ours says.

    A pty carries bytes, not bits, so parity exists only in the settings; pyserial sets
    PARENB in a way this machine's ptys refuse (EINVAL). The mbpoll and libmodbus masters
    below do run with even parity on their end.
    """
    client = AsyncModbusSerialClient(
        path, baudrate=baudrate, parity="N", stopbits=stopbits, timeout=2, retries=0
    )
    assert await client.connect()
    return client


async def test_pymodbus_serial_client_uses_every_function_code(
    pty: tuple[str, str], line: SerialLine, memory: Memory
) -> None:
    client = await pymodbus_serial(pty[1], 19200)
    try:
        await exercise_pymodbus_client(client, memory)
    finally:
        client.close()
    assert line.line.crc_errors == 0
    assert line.client.counters.requests == EXERCISE_REQUESTS
    assert line.client.counters.exceptions == EXERCISE_EXCEPTIONS


@pytest.mark.parametrize(
    ("baudrate", "parity", "stopbits"), [(115200, "N", 2), (9600, "E", 1), (1200, "O", 1)]
)
async def test_pymodbus_serial_client_at_other_line_settings(
    pty: tuple[str, str], memory: Memory, baudrate: int, parity: Parity, stopbits: Literal[1, 2]
) -> None:
    settings = SerialSettings(pty[0], baudrate=baudrate, parity=parity, stopbits=stopbits)
    async with SerialLine(mapped_server(memory, unit_id=1), settings):
        client = await pymodbus_serial(pty[1], baudrate, stopbits)
        try:
            await client.write_registers(300, [4, 5])
            assert (await client.read_holding_registers(299, count=3)).registers == [299, 4, 5]
        finally:
            client.close()


async def test_mbpoll_rtu_reads_and_writes(
    pty: tuple[str, str], line: SerialLine, memory: Memory
) -> None:
    mbpoll = require_tool("mbpoll")
    base = [mbpoll, "-m", "rtu", "-b", "19200", "-P", "even", "-a", "1", "-1", "-0", "-o", "1"]
    memory.data[Area.COIL][0:4] = [1, 0, 0, 1]
    code, out = await run(*base, "-t", "0", "-r", "0", "-c", "4", pty[1])
    assert code == 0, out
    assert mbpoll_values(out) == ["1", "0", "0", "1"]
    code, out = await run(*base, "-t", "4", "-r", "10", "-c", "3", pty[1])
    assert mbpoll_values(out) == ["10", "11", "12"]
    code, out = await run(*base, "-t", "3", "-r", "10", "-c", "2", pty[1])
    assert [v.split()[0] for v in mbpoll_values(out)] == [str(0xFFFF - 10), str(0xFFFF - 11)]
    code, out = await run(*base, "-t", "4", "-r", "50", pty[1], "500", "501", "502")
    assert code == 0, out
    assert memory.data[Area.HOLDING_REGISTER][50:53] == [500, 501, 502]
    code, out = await run(*base, "-t", "0", "-r", "70", pty[1], "1", "0", "1")
    assert code == 0, out
    assert memory.data[Area.COIL][70:73] == [1, 0, 1]
    code, out = await run(*base, "-t", "4", "-r", str(MAPPED), pty[1])
    assert code != 0
    assert "Illegal data address" in out


async def test_libmodbus_rtu_master_uses_every_area(
    pty: tuple[str, str], line: SerialLine, memory: Memory, tmp_path: Path
) -> None:
    binary = await build_libmodbus_client(tmp_path)
    memory.data[Area.HOLDING_REGISTER][30] = 0x12
    memory.data[Area.COIL][0:3] = [1, 1, 0]
    code, out = await run(str(binary), pty[1], "19200", "E", "1")
    assert code == 0, out
    lines = libmodbus_lines(out)
    assert lines["hr"].split() == ["10", "11", "12", "13"]
    assert lines["ir"].split() == [str(0xFFFF - i) for i in range(10, 14)]
    assert lines["di"].split() == ["1", "0", "0", "1", "0", "0", "1", "0"]
    assert lines["hr_written"].split() == ["4242", "7", "8", "9"]
    assert lines["co_written"].split() == ["1", "1", "0", "1", "1", "0", "1", "1"]
    assert lines["rw"].split() == ["39", "100", "101", "42"]
    assert memory.data[Area.HOLDING_REGISTER][30] == 0x17
    assert "Illegal data address" in lines["error unmapped"]


async def test_bad_crc_gets_no_answer_and_the_next_request_is_answered(
    master: RawLine, line: SerialLine
) -> None:
    bad = bytearray(rtu.encode_frame(1, READ_HR_1))
    bad[-1] ^= 0x5A
    master.write(bytes(bad))
    assert await master.silent()
    assert await master.request(1, READ_HR_1, 7) == (1, encode_read_registers_response(3, [10]))
    assert line.line.crc_errors == 1
    assert line.client.counters.requests == 1


async def test_request_for_another_unit_is_ignored_even_when_the_server_answers_0b(
    pty: tuple[str, str], memory: Memory
) -> None:
    server = mapped_server(memory, unit_id=1, unknown_unit=UnknownUnit.EXCEPTION)
    async with SerialLine(server, SerialSettings(pty[0], baudrate=19200)) as serial_line:
        master = RawLine(pty[1])
        try:
            master.write(rtu.encode_frame(2, READ_HR_1))
            assert await master.silent()
            assert await master.request(1, READ_HR_1, 7) == (
                1,
                encode_read_registers_response(3, [10]),
            )
        finally:
            master.close()
    assert serial_line.line.other_units == 1
    assert memory.reads == [(Area.HOLDING_REGISTER, 10, 1)]


@pytest.mark.parametrize("gap", [True, False], ids=["after-silence", "no-gap"])
async def test_another_slaves_response_between_requests_passes_by(
    master: RawLine, line: SerialLine, memory: Memory, gap: bool
) -> None:
    # The master asks unit 2 for 3 registers whose values, as bytes, look like a request
    # for unit 1; unit 2 answers; then the master asks us.
    lookalike = [0x0103, 0x0000, 0x0001]
    foreign = rtu.encode_frame(2, encode_read_registers_response(3, lookalike))
    ours = rtu.encode_frame(1, READ_HR_1)
    master.write(rtu.encode_frame(2, encode_read_request(3, 0, 3)))
    if gap:
        await asyncio.sleep(0.01)
        master.write(foreign)
        await asyncio.sleep(0.01)
        master.write(ours)
    else:
        master.write(foreign + ours)
    _, pdu = rtu.decode_frame(await master.read(7))
    assert pdu == encode_read_registers_response(3, [10])
    assert await master.silent()
    assert line.line.foreign_responses == 1
    assert line.line.other_units == 1
    assert line.line.crc_errors == 0
    assert memory.reads == [(Area.HOLDING_REGISTER, 10, 1)]


async def test_broadcast_write_is_applied_to_every_device_and_never_answered(
    pty: tuple[str, str],
) -> None:
    memories = [Memory(), Memory()]
    devices = [
        Device(on_read=m.on_read, on_write=m.on_write, unit_ids=frozenset({unit}))
        for unit, m in ((1, memories[0]), (2, memories[1]))
    ]
    read_only = Memory()
    devices.append(Device(on_read=read_only.on_read, unit_ids=frozenset({3})))
    async with SerialLine(Server(devices=devices), SerialSettings(pty[0], baudrate=19200)) as sl:
        master = RawLine(pty[1])
        try:
            master.write(rtu.encode_frame(0, encode_write_single_register_request(7, 777)))
            assert await master.silent()
            master.write(rtu.encode_frame(0, encode_read_request(3, 7, 1)))  # no read broadcast
            assert await master.silent()
            for unit in (1, 2):
                assert await master.request(unit, encode_read_request(3, 7, 1), 7) == (
                    unit,
                    encode_read_registers_response(3, [777]),
                )
        finally:
            master.close()
    assert [m.writes for m in memories] == [[(Area.HOLDING_REGISTER, 7, [777])]] * 2
    assert [m.reads[0] for m in memories] == [(Area.HOLDING_REGISTER, 7, 1)] * 2
    assert read_only.reads == []
    assert sl.line.broadcasts == 2


async def test_exception_answers_are_whole_frames_with_a_valid_crc(master: RawLine) -> None:
    unit, pdu = await master.request(1, encode_read_request(3, MAPPED, 1), 5)
    assert (unit, pdu) == (1, b"\x83\x02")
    # FC 07 (read exception status) is a serial-line function this server does not offer.
    assert await master.request(1, b"\x07", 5) == (1, b"\x87\x01")
    assert await master.request(1, encode_read_request(3, 0, 126), 5) == (1, b"\x83\x03")


async def test_back_to_back_requests_at_line_speed_are_all_answered_in_order(
    master: RawLine, line: SerialLine
) -> None:
    for i in range(50):
        request = encode_read_request(3, i, 2)
        assert await master.request(1, request, 9) == (
            1,
            encode_read_registers_response(3, [i, i + 1]),
        )
    # Two requests in one write (no silence between them): both answered, in order.
    master.write(
        rtu.encode_frame(1, READ_HR_1) + rtu.encode_frame(1, encode_read_request(3, 20, 1))
    )
    first, second = await master.read(7), await master.read(7)
    assert rtu.decode_frame(first)[1] == encode_read_registers_response(3, [10])
    assert rtu.decode_frame(second)[1] == encode_read_registers_response(3, [20])
    assert line.line.silence_violations == 1
    assert line.client.counters.requests == 52


@pytest.mark.parametrize("turnaround", [None, 0.05])
async def test_answer_starts_no_sooner_than_the_turnaround_after_the_request(
    pty: tuple[str, str], memory: Memory, turnaround: float | None
) -> None:
    # A lower bound only: the loop may answer later, never sooner.
    settings = SerialSettings(pty[0], baudrate=1200, turnaround=turnaround)
    minimum = turnaround or silence_time(1200)  # 32 ms at 1200 baud
    async with SerialLine(mapped_server(memory, unit_id=1), settings):
        master = RawLine(pty[1])
        try:
            for _ in range(3):
                sent = master.write(rtu.encode_frame(1, READ_HR_1))
                assert len(await master.read(7)) == 7
                assert master.first_byte_at - sent >= minimum
        finally:
            master.close()


async def test_async_callbacks_are_answered_in_request_order(pty: tuple[str, str]) -> None:
    memory = Memory()

    async def slow_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        await asyncio.sleep(0.02)
        return memory.on_read(request, area, address, count)

    server = Server(on_read=slow_read, on_write=memory.on_write, unit_id=1)
    async with SerialLine(server, SerialSettings(pty[0], baudrate=19200)):
        master = RawLine(pty[1])
        try:
            master.write(
                rtu.encode_frame(1, encode_read_request(3, 1, 1))
                + rtu.encode_frame(1, encode_read_request(3, 2, 1))
            )
            answers = [rtu.decode_frame(await master.read(7))[1] for _ in range(2)]
        finally:
            master.close()
    assert answers == [encode_read_registers_response(3, [n]) for n in (1, 2)]


async def test_missing_port_and_busy_port_are_reported_as_oserror(
    pty: tuple[str, str], line: SerialLine, memory: Memory
) -> None:
    with pytest.raises(OSError, match="No such file") as missing:
        await SerialLine(mapped_server(memory), SerialSettings("/dev/does-not-exist")).start()
    assert missing.value.errno == errno.ENOENT
    with pytest.raises(OSError, match="in use") as busy:
        await SerialLine(mapped_server(memory), SerialSettings(pty[0])).start()
    assert busy.value.errno == errno.EBUSY


async def test_a_driver_refusing_the_line_settings_is_an_oserror_and_frees_the_port(
    pty: tuple[str, str], memory: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """termios.error is no OSError: it must not escape as something setup does not expect."""

    def refuse(*_: object) -> None:
        raise termios.error(errno.EINVAL, "Invalid argument")

    with monkeypatch.context() as patched:
        patched.setattr(termios, "tcsetattr", refuse)
        with pytest.raises(OSError, match="refused") as refused:
            await SerialLine(mapped_server(memory), SerialSettings(pty[1])).start()
    assert refused.value.errno == errno.EINVAL
    line = SerialLine(mapped_server(memory), SerialSettings(pty[1]))
    await line.start()  # the failed open closed its fd: nothing holds the lock
    await line.stop()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"baudrate": 14400}, "baud rate 14400"),
        ({"parity": "M"}, "parity"),
        ({"stopbits": 3}, "stop bits"),
        ({"baudrate": 9600, "turnaround": 0.001}, "shorter than the 3.5-character"),
    ],
)
def test_settings_outside_what_the_line_allows_are_refused(
    kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        SerialSettings("/dev/ttyUSB0", **kwargs)  # type: ignore[arg-type]


def test_silence_is_3_5_characters_and_fixed_above_19200_baud() -> None:
    assert silence_time(9600) == pytest.approx(3.5 * 11 / 9600)
    assert silence_time(19200) == pytest.approx(3.5 * 11 / 19200)
    assert silence_time(38400) == silence_time(115200) == 0.00175


async def test_line_reopens_the_port_when_it_comes_back(memory: Memory, tmp_path: Path) -> None:
    link = str(tmp_path / "ttyV0")
    async with socat_pair(link) as (path, master_end):
        serial_line = SerialLine(mapped_server(memory, unit_id=1), SerialSettings(path))
        await serial_line.start()
    # socat is gone: the line notices when it next reads, and keeps trying to reopen.
    assert await eventually(lambda: serial_line.state == "reopening")
    assert serial_line.last_error
    try:
        async with socat_pair(link) as (_, master_end):
            assert await eventually(lambda: serial_line.state == "open")
            master = RawLine(master_end)
            try:
                assert await master.request(1, READ_HR_1, 7) == (
                    1,
                    encode_read_registers_response(3, [10]),
                )
            finally:
                master.close()
    finally:
        await serial_line.stop()


async def test_precise_timer_runs_a_call_once_not_before_it_is_due_and_cancel_drops_it() -> None:
    loop = asyncio.get_running_loop()
    timer = PreciseTimer(loop)
    fired: list[tuple[bytes, float]] = []
    try:
        timer.call_at(loop.time() + 0.005, lambda arg: fired.append((arg, 0.0)), b"b").cancel()
        await asyncio.sleep(0.02)
        due = loop.time() + 0.01
        timer.call_at(due, lambda arg: fired.append((arg, loop.time())), b"a")
        await asyncio.sleep(0.05)
    finally:
        timer.close()
    assert [arg for arg, _ in fired] == [b"a"]
    assert fired[0][1] >= due


async def test_answer_is_not_sent_once_the_master_has_moved_on(pty: tuple[str, str]) -> None:
    memory = Memory()
    release = asyncio.Event()

    async def slow_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        await release.wait()
        return memory.on_read(request, area, address, count)

    server = Server(on_read=slow_read, on_write=memory.on_write, unit_id=1)
    async with SerialLine(server, SerialSettings(pty[0], baudrate=19200)) as serial_line:
        master = RawLine(pty[1])
        try:
            master.write(rtu.encode_frame(1, READ_HR_1))
            await asyncio.sleep(0.05)
            # The master timed out and polls another slave: our late answer would collide.
            master.write(rtu.encode_frame(2, READ_HR_1))
            await asyncio.sleep(0.05)
            release.set()
            assert await master.silent()
            assert await master.request(1, READ_HR_1, 7) == (
                1,
                encode_read_registers_response(3, [10]),
            )
        finally:
            master.close()
    assert serial_line.line.answers_dropped == 1
    assert memory.reads == [(Area.HOLDING_REGISTER, 10, 1)] * 2
