"""A profile device in a real Home Assistant: added through the flows API, read by pymodbus.

The demo's SDM630 (scripts/develop adds it on unit 3): FC04 0x0034 is the total system
power in W, 0x0048 the total import in kWh, float32 high word first (Eastron's map).
"""

from __future__ import annotations

import asyncio
import struct

import pytest
from hasslib import PROFILE_METER_NAME, PROFILE_METER_SLOTS, free_port
from pymodbus.client import AsyncModbusTcpClient

from .conftest import HA

pytestmark = pytest.mark.e2e


def f32(registers: list[int]) -> float:
    value: float = struct.unpack(">f", struct.pack(">HH", *registers))[0]
    return value


async def test_the_demo_sdm630_follows_a_state_change(ha: HA) -> None:
    # A server of its own (the session's demo device answers every unit id), as develop has it
    port = free_port()
    async with ha.client() as api:
        entry = await api.create_server_entry(name="Profile demo", port=port, unit_id=1)
        entry_id = str(entry["entry_id"])
        await api.add_profile_device(
            entry_id, PROFILE_METER_NAME, "eastron_sdm630", PROFILE_METER_SLOTS, unit_ids="3"
        )
        for _ in range(200):
            if await api.entry_state(entry_id) == "loaded":
                break
            await asyncio.sleep(0.05)
        modbus = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
        assert await modbus.connect()
        try:
            energy_wh = float((await api.state("sensor.energy_meter"))["state"])
            await api.call(
                "input_number",
                "set_value",
                {
                    "entity_id": "input_number.grid_power",
                    "value": 1500,
                },
            )
            await api.wait_state("sensor.grid_power", lambda s: s["state"] == "1500.0")
            power = await modbus.read_input_registers(0x0034, count=2, device_id=3)
            assert not power.isError(), power
            assert f32(power.registers) == pytest.approx(1500.0)
            energy = await modbus.read_input_registers(0x0048, count=2, device_id=3)
            assert f32(energy.registers) == pytest.approx(energy_wh / 1000, rel=1e-6)
            await api.call(
                "input_number",
                "set_value",
                {
                    "entity_id": "input_number.grid_power",
                    "value": -420,
                },
            )
            await api.wait_state("sensor.grid_power", lambda s: s["state"] == "-420.0")
            power = await modbus.read_input_registers(0x0034, count=2, device_id=3)
            assert f32(power.registers) == pytest.approx(-420.0)  # export, on the same connection
        finally:
            modbus.close()
            await asyncio.sleep(0)
            await api.delete(f"/api/config/config_entries/entry/{entry_id}")
