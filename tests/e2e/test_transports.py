"""The develop demo's UDP and RTU-over-TCP servers, created through the flows API of a real
Home Assistant and polled as the README shows: pymodbus's UDP client, and mbpoll as the RTU
master behind socat playing the gateway."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from hasslib import METER_TABLE, free_port, setup_transport_demos
from pymodbus.client import AsyncModbusUdpClient

from tests.conftest import require_tool

from .conftest import HA
from .helpers import entity_value

pytestmark = pytest.mark.e2e


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def demos(ha: HA) -> AsyncIterator[tuple[int, int]]:
    """The UDP and RTU-over-TCP demo servers on free ports; removed afterwards."""
    udp_port, rtu_port = free_udp_port(), free_port()
    async with ha.client() as client:
        created = await setup_transport_demos(
            client, "127.0.0.1", udp_port=udp_port, rtu_port=rtu_port
        )
        assert len(created) == 2
        for entry_id in created:
            for _ in range(200):
                if await client.entry_state(entry_id) == "loaded":
                    break
                await asyncio.sleep(0.05)
            assert await client.entry_state(entry_id) == "loaded"
    try:
        yield udp_port, rtu_port
    finally:
        async with ha.client() as client:
            for entry_id in created:
                await client.delete(f"/api/config/config_entries/entry/{entry_id}")


async def expected_energy(ha: HA) -> float:
    row = METER_TABLE[0]
    assert row.entity_id is not None
    async with ha.client() as client:
        state = await client.state(row.entity_id)
    return float(entity_value(state)) / row.scale  # raw = value / scale (Wh -> kWh)


async def test_demo_udp_server_answers_a_udp_client(ha: HA, demos: tuple[int, int]) -> None:
    client = AsyncModbusUdpClient("127.0.0.1", port=demos[0], timeout=3, retries=1)
    assert await client.connect()
    try:
        result = await client.read_input_registers(0, count=2, device_id=1)
    finally:
        client.close()
    assert not result.isError()
    value = struct.unpack(">f", struct.pack(">HH", *result.registers))[0]
    assert value == pytest.approx(await expected_energy(ha), rel=1e-6)


async def test_demo_rtu_over_tcp_server_answers_mbpoll_behind_socat(
    ha: HA, demos: tuple[int, int], tmp_path: object
) -> None:
    socat = require_tool("socat")
    mbpoll = require_tool("mbpoll")
    link = f"{tmp_path}/ttyGateway"
    gateway = await asyncio.create_subprocess_exec(
        socat, f"pty,link={link},raw,echo=0", f"tcp:127.0.0.1:{demos[1]}"
    )
    try:
        for _ in range(100):  # the pty appears once socat has connected
            if os.path.exists(link):
                break
            await asyncio.sleep(0.05)
        poll = await asyncio.create_subprocess_exec(
            mbpoll,
            *("-m", "rtu", "-b", "9600", "-P", "none", "-a", "1", "-1"),
            *("-t", "3:float", "-B", "-r", "1", "-c", "1", link),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(poll.communicate(), 30)
    finally:
        gateway.terminate()
        await gateway.wait()
    text = out.decode()
    assert poll.returncode == 0, text
    line = next(line for line in text.splitlines() if line.startswith("[1]:"))
    assert float(line.split()[-1]) == pytest.approx(await expected_energy(ha), rel=1e-5)
