"""External masters the interop tests drive: subprocesses, mbpoll output, the libmodbus client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from pymodbus.client.base import ModbusBaseClient
from pymodbus.pdu import ExceptionResponse

from custom_components.modbus_server.modbus import Area

from ..conftest import require_tool
from .client import MAPPED, Memory

LIBMODBUS_CLIENT = Path(__file__).parent / "c" / "libmodbus_client.c"


async def run(*argv: str, timeout: float = 20) -> tuple[int, str]:
    """Run a program; return its exit status and its stdout and stderr together."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, out.decode()


async def eventually(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll `condition` until it holds or `timeout` passes; return whether it held."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def mbpoll_values(output: str) -> list[str]:
    """The values of mbpoll's ``[ref]: value`` lines."""
    return [line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("[")]


async def build_libmodbus_client(directory: Path) -> Path:
    """Compile c/libmodbus_client.c (TCP or RTU master) into `directory`."""
    cc = require_tool("cc")
    if not Path("/usr/include/modbus/modbus.h").exists():
        require_tool("libmodbus-dev (modbus.h)")
    binary = directory / "libmodbus_client"
    code, out = await run(
        cc, "-O1", "-Wall", "-I/usr/include/modbus", str(LIBMODBUS_CLIENT), "-o", str(binary),
        "-lmodbus",
    )  # fmt: skip
    assert code == 0, out
    return binary


def libmodbus_lines(output: str) -> dict[str, str]:
    """The client's ``name: values`` lines by name."""
    return dict(line.split(":", 1) for line in output.strip().splitlines())


EXERCISE_REQUESTS = 16  # requests exercise_pymodbus_client sends
EXERCISE_EXCEPTIONS = {1: 1, 2: 1}  # and the exception answers it expects, by code


async def exercise_pymodbus_client(client: ModbusBaseClient, memory: Memory) -> None:
    """Every function code through a pymodbus client, against a `mapped_server(memory)`."""
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
    assert (await client.read_holding_registers(100, count=4)).registers == [0xABCD, 1, 2, 3]
    await client.mask_write_register(address=100, and_mask=0x00FF, or_mask=0x1200)
    assert memory.data[Area.HOLDING_REGISTER][100] == 0x12CD
    rw = await client.readwrite_registers(
        read_address=200, read_count=2, write_address=201, values=[77]
    )
    assert rw.registers == [200, 77]
    assert (await client.read_device_information()).information[0] == b"Home Assistant"
    echo = await client.diag_query_data(b"\x12\x34")
    assert not echo.isError()
    assert echo.message == b"\x12\x34"
    unsupported = await client.diag_read_diagnostic_register()
    assert isinstance(unsupported, ExceptionResponse)
    assert unsupported.exception_code == 1
    unmapped = await client.read_holding_registers(MAPPED, count=1)
    assert isinstance(unmapped, ExceptionResponse)
    assert unmapped.exception_code == 2
    big = await client.read_holding_registers(500, count=125)
    assert big.registers == list(range(500, 625))
