"""External masters the interop tests drive: subprocesses, mbpoll output, the libmodbus client."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ..conftest import require_tool

LIBMODBUS_CLIENT = Path(__file__).parent / "c" / "libmodbus_client.c"


async def run(*argv: str, timeout: float = 20) -> tuple[int, str]:
    """Run a program; return its exit status and its stdout and stderr together."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, out.decode()


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
