"""Real clients against the server: pymodbus, Debian's mbpoll, libmodbus."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ExceptionResponse

from custom_components.modbus_server.modbus import Area

from ..conftest import require_tool
from .client import MAPPED, Memory, mapped_server
from .tools import build_libmodbus_client, libmodbus_lines, mbpoll_values, run


@pytest.fixture
def memory() -> Memory:
    return Memory()


async def test_pymodbus_client_reads_and_writes_every_area(memory: Memory) -> None:
    async with mapped_server(memory) as server:
        client = AsyncModbusTcpClient("127.0.0.1", port=server.port)
        await client.connect()
        try:
            assert (await client.read_holding_registers(10, count=3)).registers == [10, 11, 12]
            ir = await client.read_input_registers(10, count=2)
            assert ir.registers == [0xFFFF - 10, 0xFFFF - 11]
            di = await client.read_discrete_inputs(0, count=7)
            assert di.bits[:7] == [True, False, False, True, False, False, True]

            await client.write_coil(5, True)
            await client.write_coils(8, [True, False, True])
            assert (await client.read_coils(5, count=6)).bits[:6] == [
                True, False, False, True, False, True,
            ]  # fmt: skip
            await client.write_register(100, 0xABCD)
            await client.write_registers(101, [1, 2, 3])
            regs = await client.read_holding_registers(100, count=4)
            assert regs.registers == [0xABCD, 1, 2, 3]

            await client.mask_write_register(address=100, and_mask=0x00FF, or_mask=0x1200)
            assert memory.data[Area.HOLDING_REGISTER][100] == 0x12CD
            rw = await client.readwrite_registers(
                read_address=200, read_count=2, write_address=201, values=[77]
            )
            assert rw.registers == [200, 77]
            info = await client.read_device_information()
            assert info.information[0] == b"Home Assistant"
            echo = await client.diag_query_data(b"\x12\x34")
            assert not echo.isError()
            assert echo.message == b"\x12\x34"
            unsupported = await client.diag_read_diagnostic_register()
            assert isinstance(unsupported, ExceptionResponse)
            assert unsupported.exception_code == 1

            unmapped = await client.read_holding_registers(MAPPED, count=1)
            assert isinstance(unmapped, ExceptionResponse)
            assert unmapped.exception_code == 2
        finally:
            client.close()


async def test_mbpoll_reads_and_writes_every_area(memory: Memory) -> None:
    mbpoll = require_tool("mbpoll")
    memory.data[Area.COIL][0:4] = [1, 0, 0, 1]
    struct_words = struct.unpack(">HH", struct.pack(">f", 21.5))
    memory.data[Area.INPUT_REGISTER][0:2] = list(struct_words)
    async with mapped_server(memory) as server:
        base = [mbpoll, "-m", "tcp", "-p", str(server.port), "-1", "-0", "-o", "2"]
        code, out = await run(*base, "-t", "0", "-r", "0", "-c", "4", "127.0.0.1")
        assert code == 0, out
        assert mbpoll_values(out) == ["1", "0", "0", "1"]
        code, out = await run(*base, "-t", "1", "-r", "0", "-c", "4", "127.0.0.1")
        assert mbpoll_values(out) == ["1", "0", "0", "1"]
        code, out = await run(*base, "-t", "4", "-r", "10", "-c", "3", "127.0.0.1")
        assert mbpoll_values(out) == ["10", "11", "12"]
        code, out = await run(*base, "-t", "3:float", "-B", "-r", "0", "-c", "1", "127.0.0.1")
        assert mbpoll_values(out) == ["21.5"], out

        code, out = await run(*base, "-t", "4", "-r", "50", "127.0.0.1", "500", "501", "502")
        assert code == 0, out
        assert memory.data[Area.HOLDING_REGISTER][50:53] == [500, 501, 502]
        code, out = await run(*base, "-t", "4", "-r", "60", "127.0.0.1", "9")
        assert memory.data[Area.HOLDING_REGISTER][60] == 9
        code, out = await run(*base, "-t", "0", "-r", "70", "127.0.0.1", "1", "0", "1")
        assert code == 0, out
        assert memory.data[Area.COIL][70:73] == [1, 0, 1]

        code, out = await run(*base, "-t", "4", "-r", str(MAPPED), "127.0.0.1")
        assert code != 0
        assert "Illegal data address" in out


async def test_libmodbus_client_reads_and_writes_every_area(memory: Memory, tmp_path: Path) -> None:
    binary = await build_libmodbus_client(tmp_path)
    memory.data[Area.HOLDING_REGISTER][30] = 0x12
    memory.data[Area.COIL][0:3] = [1, 1, 0]
    async with mapped_server(memory) as server:
        code, out = await run(str(binary), str(server.port))
    assert code == 0, out
    lines = libmodbus_lines(out)
    assert lines["hr"].split() == ["10", "11", "12", "13"]
    assert lines["ir"].split() == [str(0xFFFF - i) for i in range(10, 14)]
    assert lines["co"].split() == ["1", "1", "0", "0", "0", "0", "0", "0"]
    assert lines["di"].split() == ["1", "0", "0", "1", "0", "0", "1", "0"]
    assert lines["hr_written"].split() == ["4242", "7", "8", "9"]
    assert lines["co_written"].split() == ["1", "1", "0", "1", "1", "0", "1", "1"]
    assert lines["rw"].split() == ["39", "100", "101", "42"]
    assert memory.data[Area.HOLDING_REGISTER][30] == 0x17
    assert "Illegal data address" in lines["error unmapped"]
