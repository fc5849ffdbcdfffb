"""Real clients against the server: pymodbus, Debian's mbpoll, libmodbus."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ExceptionResponse

from custom_components.modbus_server.modbus import Area, IllegalDataAddress, Request, Server

from ..conftest import require_tool
from .client import Memory, memory_server

MAPPED = 1000  # addresses from here on are unmapped in these tests


@pytest.fixture
def memory() -> Memory:
    return Memory()


def mapped_server(memory: Memory) -> Server:
    def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
        if address + count > MAPPED:
            raise IllegalDataAddress
        return memory.on_read(request, area, address, count)

    return memory_server(memory, on_read=on_read)


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


async def run(*argv: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    return process.returncode or 0, out.decode()


def mbpoll_values(output: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("[")]


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
    cc = require_tool("cc")
    if not Path("/usr/include/modbus/modbus.h").exists():
        require_tool("libmodbus-dev (modbus.h)")
    source = Path(__file__).parent / "c" / "libmodbus_client.c"
    binary = tmp_path / "libmodbus_client"
    code, out = await run(
        cc, "-O1", "-Wall", "-I/usr/include/modbus", str(source), "-o", str(binary), "-lmodbus"
    )
    assert code == 0, out
    memory.data[Area.HOLDING_REGISTER][30] = 0x12
    memory.data[Area.COIL][0:3] = [1, 1, 0]
    async with mapped_server(memory) as server:
        code, out = await run(str(binary), str(server.port))
    assert code == 0, out
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    assert lines["hr"].split() == ["10", "11", "12", "13"]
    assert lines["ir"].split() == [str(0xFFFF - i) for i in range(10, 14)]
    assert lines["co"].split() == ["1", "1", "0", "0", "0", "0", "0", "0"]
    assert lines["di"].split() == ["1", "0", "0", "1", "0", "0", "1", "0"]
    assert lines["hr_written"].split() == ["4242", "7", "8", "9"]
    assert lines["co_written"].split() == ["1", "1", "0", "1", "1", "0", "1", "1"]
    assert lines["rw"].split() == ["39", "100", "101", "42"]
    assert memory.data[Area.HOLDING_REGISTER][30] == 0x17
    assert "Illegal data address" in lines["error unmapped"]
