"""scripts/serve, the standalone simulator: every transport, its map, its lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient, AsyncModbusUdpClient
from pymodbus.client.base import ModbusBaseClient
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse

from ..conftest import require_tool
from .gateway import Gateway
from .serial_pair import socat_pair
from .tools import mbpoll_values, run

SERVE = Path(__file__).resolve().parents[2] / "scripts" / "serve"


class Simulator:
    def __init__(self, process: asyncio.subprocess.Process, ready: str) -> None:
        self.process = process
        self.ready = ready
        match = re.search(r":(\d+),", ready)
        self.port = int(match.group(1)) if match else 0


@contextlib.asynccontextmanager
async def serve(*args: str, stop_with: int = signal.SIGTERM) -> AsyncIterator[Simulator]:
    """Run scripts/serve until its ready line; stop it on leaving, which must exit 0."""
    process = await asyncio.create_subprocess_exec(
        str(SERVE), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith("ready: "), line + (await process.stderr.read()).decode()
        yield Simulator(process, line)
    finally:
        if process.returncode is None:
            process.send_signal(stop_with)
        _, err = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0, err.decode()


async def check_the_map(client: ModbusBaseClient) -> None:
    """Register i holds i, bits start at 0, 0..9999 exist, writes stick."""
    assert (await client.read_holding_registers(0, count=3)).registers == [0, 1, 2]
    assert (await client.read_input_registers(9998, count=2)).registers == [9998, 9999]
    assert (await client.read_coils(0, count=8)).bits == [False] * 8
    assert (await client.read_discrete_inputs(9992, count=8)).bits == [False] * 8
    for beyond in (client.read_holding_registers(10000), client.read_coils(9999, count=2)):
        response = await beyond
        assert isinstance(response, ExceptionResponse)
        assert response.exception_code == 2
    await client.write_registers(42, [4242, 4343])
    await client.write_coil(7, True)
    assert (await client.read_holding_registers(41, count=3)).registers == [41, 4242, 4343]
    assert (await client.read_coils(7, count=1)).bits[0] is True


async def test_tcp_simulator_serves_the_map() -> None:
    async with serve("--transport", "tcp", "--port", "0") as simulator:
        client = AsyncModbusTcpClient("127.0.0.1", port=simulator.port, timeout=2)
        assert await client.connect()
        try:
            await check_the_map(client)
        finally:
            client.close()


async def test_udp_simulator_serves_the_map() -> None:
    async with serve("--transport", "udp", "--port", "0", "--unit", "5") as simulator:
        assert "unit 5" in simulator.ready
        client = AsyncModbusUdpClient("127.0.0.1", port=simulator.port, timeout=2, retries=0)
        assert await client.connect()
        try:
            assert (await client.read_holding_registers(9, device_id=5)).registers == [9]
        finally:
            client.close()


async def test_rtu_over_tcp_simulator_listens_and_stops_on_sigint() -> None:
    async with serve("--transport", "rtu-over-tcp", "--port", "0", stop_with=signal.SIGINT) as sim:
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.port, framer=FramerType.RTU, timeout=2)
        assert await client.connect()
        try:
            await check_the_map(client)
        finally:
            client.close()


async def test_rtu_over_tcp_simulator_dials_a_gateway() -> None:
    gateway = Gateway()
    await gateway.start()
    try:
        async with serve("--transport", "rtu-over-tcp", "--gateway", f"127.0.0.1:{gateway.port}"):
            await asyncio.wait_for(gateway.slave_connected.wait(), 10)
            client = AsyncModbusTcpClient(
                "127.0.0.1", port=gateway.master_port, framer=FramerType.RTU, timeout=2
            )
            assert await client.connect()
            try:
                assert (await client.read_holding_registers(123, count=2)).registers == [123, 124]
            finally:
                client.close()
    finally:
        await gateway.stop()


async def test_rtu_simulator_on_a_serial_line_with_mbpoll() -> None:
    mbpoll = require_tool("mbpoll")
    async with socat_pair() as (slave_end, master_end):
        args = ("--transport", "rtu", "--serial", slave_end, "--baud", "38400", "--parity", "N")
        async with serve(*args, "--stopbits", "2", "--unit", "17") as simulator:
            assert "38400 8N2" in simulator.ready
            base = [mbpoll, "-m", "rtu", "-b", "38400", "-P", "none", "-s", "2", "-a", "17"]
            base += ["-1", "-0", "-o", "1", "-t", "4"]
            code, out = await run(*base, "-r", "9997", "-c", "3", master_end)
            assert code == 0, out
            assert mbpoll_values(out) == ["9997", "9998", "9999"]
            code, out = await run(*base, "-r", "9999", "-c", "2", master_end)
            assert "Illegal data address" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--transport", "rtu"], "needs --serial"),
        (["--transport", "rtu", "--serial", "/dev/does-not-exist"], "No such file"),
        (["--transport", "rtu", "--unit", "0", "--serial", "x"], "--unit must be 1..247"),
        (["--transport", "rtu-over-tcp", "--gateway", "nohostport"], "HOST:PORT"),
    ],
)
async def test_bad_options_end_with_a_message(args: list[str], message: str) -> None:
    code, out = await run(str(SERVE), *args)
    assert code != 0
    assert message in out
