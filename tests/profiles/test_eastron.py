"""Eastron SDM630/SDM120/SDM72D decoded from Eastron's published map over a real socket.

Addresses below are written from the Eastron protocol documents (and the readers mbmd and
sdm_modbus), not imported from the profile: FC04, float32 high word first, energies in kWh.
"""

from __future__ import annotations

import pytest
from pymodbus.pdu import ExceptionResponse

from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.profiles import PROFILES
from custom_components.modbus_server.profiles.compile import compile_profile

from .helpers import client, f32_abcd, serving

THREE_PHASE = {
    "voltage_l1": 230.5,
    "voltage_l2": 231.0,
    "voltage_l3": 229.5,
    "current_l1": 4.0,
    "current_l2": 5.0,
    "current_l3": 6.0,
    "power_l1": 900.0,
    "power_l2": -100.0,
    "power_l3": 1300.0,
    "frequency": 50.02,
    "power_factor_l1": 0.98,
    "energy_import": 12_345_600.0,  # Wh -> 12345.6 kWh on the wire
    "energy_export": 2_000_000.0,
}


async def test_sdm630_block_read_across_reserved_registers_decodes_by_the_map() -> None:
    table = compile_profile(PROFILES["eastron_sdm630"], THREE_PHASE)
    async with serving(table, THREE_PHASE) as server, client(server) as modbus:
        # one block 0x0000..0x004B (76 registers, reserved ones inside), as sdm_modbus reads
        answer = await modbus.read_input_registers(0x0000, count=76, device_id=1)
        regs = answer.registers
        assert f32_abcd(regs, 0x0000) == pytest.approx(230.5)  # Phase 1 line to neutral volts
        assert f32_abcd(regs, 0x0004) == pytest.approx(229.5)  # Phase 3 volts
        assert f32_abcd(regs, 0x0008) == pytest.approx(5.0)  # Phase 2 current
        assert f32_abcd(regs, 0x000E) == pytest.approx(-100.0)  # Phase 2 power
        assert f32_abcd(regs, 0x001E) == pytest.approx(0.98)  # Phase 1 power factor
        # Total system power not bound: 900 - 100 + 1300 = 2100 W, by hand
        assert f32_abcd(regs, 0x0034) == pytest.approx(2100.0)
        # Average L-N volts (230.5 + 231 + 229.5) / 3 = 230.333; sum of line currents 15 A
        assert f32_abcd(regs, 0x002A) == pytest.approx(230.3333, rel=1e-5)
        assert f32_abcd(regs, 0x0030) == pytest.approx(15.0)
        assert f32_abcd(regs, 0x0046) == pytest.approx(50.02)  # Frequency
        assert f32_abcd(regs, 0x0048) == pytest.approx(12345.6)  # Total import kWh
        assert f32_abcd(regs, 0x004A) == pytest.approx(2000.0)  # Total export kWh
        assert regs[0x0024:0x002A] == [0] * 6  # reserved registers read as 0
        total = await modbus.read_input_registers(0x0156, count=2, device_id=1)
        assert f32_abcd(total.registers, 0) == pytest.approx(14345.6)  # Total kWh = imp + exp
        outside = await modbus.read_input_registers(0x0200, count=2, device_id=1)
        assert isinstance(outside, ExceptionResponse)
        assert outside.exception_code == 2


async def test_sdm120_single_phase_registers() -> None:
    values = {"voltage": 232.0, "current": 7.5, "power": 1700.0, "energy_import": 5_500.0}
    table = compile_profile(PROFILES["eastron_sdm120"], values)
    async with serving(table, values) as server, client(server) as modbus:
        regs = (await modbus.read_input_registers(0, count=0x4C, device_id=1)).registers
    assert f32_abcd(regs, 0x0000) == pytest.approx(232.0)
    assert f32_abcd(regs, 0x0006) == pytest.approx(7.5)
    assert f32_abcd(regs, 0x000C) == pytest.approx(1700.0)
    assert f32_abcd(regs, 0x0048) == pytest.approx(5.5)  # 5500 Wh = 5.5 kWh
    assert f32_abcd(regs, 0x001E) == 0.0  # power factor not bound: 0


async def test_sdm72d_total_power_and_energy_registers() -> None:
    values = {"power": -2500.0, "energy_import": 1_000.0, "energy_export": 250.0}
    table = compile_profile(PROFILES["eastron_sdm72d"], values)
    async with serving(table, values) as server, client(server) as modbus:
        power = await modbus.read_input_registers(0x0034, count=2, device_id=1)
        energy = await modbus.read_input_registers(0x0048, count=4, device_id=1)
        total = await modbus.read_input_registers(0x0156, count=2, device_id=1)
    assert f32_abcd(power.registers, 0) == pytest.approx(-2500.0)
    assert f32_abcd(energy.registers, 0) == pytest.approx(1.0)
    assert f32_abcd(energy.registers, 2) == pytest.approx(0.25)
    assert f32_abcd(total.registers, 0) == pytest.approx(1.25)


async def test_growatt_preset_answers_total_power_on_unit_2() -> None:
    values = {"power": 300.0}
    table = compile_profile(PROFILES["eastron_sdm630"], values, preset="growatt")
    async with serving(table, values) as server, client(server) as modbus:
        # what a Growatt MIC asks: unit 2, register 52 (30053), two registers
        power = await modbus.read_input_registers(52, count=2, device_id=2)
        unit_1 = await modbus.read_input_registers(52, count=2, device_id=1)
    assert f32_abcd(power.registers, 0) == 300.0
    assert isinstance(unit_1, ExceptionResponse)
    assert unit_1.exception_code == 0x0B  # no device on unit 1 behind this server


# sdm_modbus reads each batch as one block, first to last register (sdm.py, batch numbers)
SDM_MODBUS_BATCHES = {
    "eastron_sdm630": [(0x0000, 0x004F), (0x0050, 0x006B), (0x00C8, 0x010D), (0x014E, 0x017D)],
    "eastron_sdm120": [(0x0000, 0x004F), (0x0054, 0x005F), (0x0102, 0x0109), (0x0156, 0x0159)],
    "eastron_sdm72d": [(0x0000, 0x004B), (0x00C8, 0x00E1), (0x0156, 0x018D), (0x0500, 0x0503)],
}


@pytest.mark.parametrize("key", sorted(SDM_MODBUS_BATCHES))
async def test_every_sdm_modbus_batch_answers_in_one_request(key: str) -> None:
    values = {"power": 10.0}
    table = compile_profile(PROFILES[key], values)
    async with serving(table, values) as server, client(server) as modbus:
        for first, last in SDM_MODBUS_BATCHES[key]:
            answer = await modbus.read_input_registers(first, count=last - first + 1, device_id=1)
            assert not answer.isError(), hex(first)
            assert len(answer.registers) == last - first + 1


async def test_sdm72d_import_and_export_power_are_the_parts_of_the_total() -> None:
    table = compile_profile(PROFILES["eastron_sdm72d"], ["power"])
    exporting = table.read(Area.INPUT_REGISTER, 0x0500, 4, {"power": -800.0})
    importing = table.read(Area.INPUT_REGISTER, 0x0500, 4, {"power": 650.0})
    assert (f32_abcd(exporting, 0), f32_abcd(exporting, 2)) == (0.0, 800.0)
    assert (f32_abcd(importing, 0), f32_abcd(importing, 2)) == (650.0, 0.0)
