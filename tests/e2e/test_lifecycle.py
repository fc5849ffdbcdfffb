"""Changing the table live and reloading under full-speed polling; stopping and restarting HA."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time

import pytest
from hasslib import Credentials, Row
from pymodbus.client import AsyncModbusTcpClient

from .conftest import HA, start_and_login
from .helpers import raw_request

pytestmark = pytest.mark.e2e

PROBE = Row("input_register", 15, "uint16", "input_number.pump_speed")


class Poller:
    """A closed-loop Modbus client: reads IR 0-12 and the probe row as fast as answered,
    reconnecting whenever the connection drops."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.ok = 0
        self.exceptions = 0
        self.connects = 0
        self.disconnects = 0
        self.refused = 0
        self.probe: object = None
        self.stop = asyncio.Event()

    async def run(self) -> None:
        tid = 0
        while not self.stop.is_set():
            writer = None
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                self.connects += 1
                while not self.stop.is_set():
                    tid = (tid + 2) & 0xFFFF
                    pdu = await asyncio.wait_for(
                        raw_request(reader, writer, tid, struct.pack(">BHH", 4, 0, 13)), 5
                    )
                    if pdu[0] == 4 and pdu[1] == 26:
                        self.ok += 1
                    else:
                        self.exceptions += 1
                    pdu = await asyncio.wait_for(
                        raw_request(reader, writer, tid + 1, struct.pack(">BHH", 4, 15, 1)), 5
                    )
                    self.probe = (
                        struct.unpack(">H", pdu[2:4])[0] if pdu[0] == 4 else ("exc", pdu[1])
                    )
            except ConnectionRefusedError:
                self.refused += 1
                await asyncio.sleep(0.01)
            except OSError, asyncio.IncompleteReadError, TimeoutError:
                self.disconnects += 1
                await asyncio.sleep(0.01)
            finally:
                if writer is not None:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()

    async def wait(self, predicate: object, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():  # type: ignore[operator]
            assert time.monotonic() < deadline, vars(self)
            await asyncio.sleep(0.02)


async def test_table_change_and_reload_under_full_speed_polling(ha: HA) -> None:
    poller = Poller(ha.modbus_port)
    task = asyncio.create_task(poller.run())
    try:
        await poller.wait(lambda: poller.ok > 50 and poller.probe == ("exc", 2))
        async with ha.client() as hass:
            speed = round(float((await hass.state("input_number.pump_speed"))["state"]))
            device_id = await hass.device_id(ha.entry_id, "Modbus demo device")
            # Add a row: the device's table is swapped live; the client stays connected.
            connects = poller.connects
            await hass.add_row(ha.entry_id, PROBE)
            await poller.wait(lambda: poller.probe == speed)
            ok_after_add = poller.ok
            await poller.wait(lambda: poller.ok > ok_after_add + 50)
            assert poller.connects == connects
            async with hass.websocket() as ws:
                rows = await ws.command(
                    type="modbus_server/table/rows", entry_id=ha.entry_id, device_id=device_id
                )
            (new,) = [row[0] for row in rows["rows"] if row[rows["fields"].index("plc")] == "30016"]
            # Delete it again (device menu): swapped live, the address is unmapped (02) again.
            await hass.delete_rows(ha.entry_id, device_id, [new])
            await poller.wait(lambda: poller.probe == ("exc", 2))
            assert poller.connects == connects
            # An explicit reload while polling.
            connects, ok = poller.connects, poller.ok
            await hass.reload_entry(ha.entry_id)
            await poller.wait(lambda: poller.connects > connects and poller.ok > ok + 50)
            assert await hass.entry_state(ha.entry_id) == "loaded"
    finally:
        poller.stop.set()
        await asyncio.wait_for(task, 10)
    assert ha.proc.alive()
    assert poller.exceptions == 0, vars(poller)
    assert poller.disconnects >= 1  # the explicit reload closed the connection (edits did not)


async def read_owned(port: int) -> tuple[bool, int]:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
    assert await client.connect()
    try:
        coil = await client.read_coils(2, count=1)
        register = await client.read_holding_registers(14, count=1)
        assert not coil.isError(), coil
        assert not register.isError(), register
        return bool(coil.bits[0]), int(register.registers[0])
    finally:
        client.close()


async def test_stop_closes_the_port_and_restart_restores_owned_values(ha: HA) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=ha.modbus_port, timeout=5, retries=0)
    assert await client.connect()
    assert not (await client.write_coil(2, True)).isError()
    assert not (await client.write_register(14, 77)).isError()
    client.close()
    assert await read_owned(ha.modbus_port) == (True, 77)

    assert ha.proc.stop(timeout=60) == 0
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", ha.modbus_port)

    ha.token = await start_and_login(ha.proc, Credentials())
    async with ha.client() as hass:
        for _ in range(200):
            if await hass.entry_state(ha.entry_id) == "loaded":
                break
            await asyncio.sleep(0.05)
        states = await hass.states()
    assert await read_owned(ha.modbus_port) == (True, 77)
    remote = [
        s
        for s in states.values()
        if s["attributes"].get("friendly_name", "").endswith("Remote enable")
    ]
    offset = [
        s
        for s in states.values()
        if s["attributes"].get("friendly_name", "").endswith("Setpoint offset")
    ]
    assert [s["state"] for s in remote] == ["on"]
    assert [float(s["state"]) for s in offset] == [pytest.approx(7.7)]
