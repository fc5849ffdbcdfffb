"""Real clients against the server: pymodbus, Debian's mbpoll, libmodbus."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from custom_components.modbus_server.modbus import Area

from ..conftest import require_tool
from .client import MAPPED, Memory, mapped_server
from .tools import (
    build_libmodbus_client,
    exercise_pymodbus_client,
    libmodbus_lines,
    mbpoll_values,
    run,
)


@pytest.fixture
def memory() -> Memory:
    return Memory()


async def test_pymodbus_client_reads_and_writes_every_area(memory: Memory) -> None:
    async with mapped_server(memory) as server:
        client = AsyncModbusTcpClient("127.0.0.1", port=server.port)
        await client.connect()
        try:
            await exercise_pymodbus_client(client, memory)
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
