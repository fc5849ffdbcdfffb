"""Chint DTSU666 and Huawei DTSU666-H decoded from the published maps over a real socket.

DTSU666: FC03, float32 high word first, voltages in 0.1 V, currents in mA, powers in
0.1 W, power factor x1000, frequency in 0.01 Hz, energies in kWh (Chint manual, mbmd).
DTSU666-H: what a SUN2000 reads (translators and a bus log): 0x07D1, 0x0836 x80, 0x08A6 x10.
"""

from __future__ import annotations

import struct

import pytest
from pymodbus.pdu import ExceptionResponse

from custom_components.modbus_server.profiles import PROFILES
from custom_components.modbus_server.profiles.compile import compile_profile

from .helpers import client, f32_abcd, serving

VALUES = {
    "voltage_l1": 235.0,
    "voltage_l2": 234.8,
    "voltage_l3": 235.3,
    "current_l1": 1.607,
    "current_l2": 0.393,
    "current_l3": 0.67,
    "power_l1": 226.9,
    "power_l2": -56.4,
    "power_l3": -98.3,
    "frequency": 50.0,
    "power_factor": -0.114,
    "energy_import_l1": 147_520.0,
    "energy_import_l2": 49_120.0,
    "energy_import_l3": 53_460.0,
    "energy_import": 145_760.0,
    "energy_export": 22_260.0,
}


async def test_dtsu666_answers_0x2000_x82_and_0x401e_x60_in_single_requests() -> None:
    table = compile_profile(PROFILES["chint_dtsu666"], VALUES)
    async with serving(table, VALUES) as server, client(server) as modbus:
        low = (await modbus.read_holding_registers(0x2000, count=82, device_id=1)).registers
        high = (await modbus.read_holding_registers(0x401E, count=60, device_id=1)).registers
    assert len(low) == 82
    assert len(high) == 60
    assert f32_abcd(low, 0x2006 - 0x2000) == pytest.approx(2350.0)  # Ua in 0.1 V
    assert f32_abcd(low, 0x200C - 0x2000) == pytest.approx(1607.0)  # Ia in mA
    # Pt not bound: (226.9 - 56.4 - 98.3) W = 72.2 W = 722 x 0.1 W
    assert f32_abcd(low, 0x2012 - 0x2000) == pytest.approx(722.0)
    assert f32_abcd(low, 0x2014 - 0x2000) == pytest.approx(2269.0)
    assert f32_abcd(low, 0x202A - 0x2000) == pytest.approx(-114.0)  # PFt x1000
    assert f32_abcd(low, 0x2044 - 0x2000) == pytest.approx(5000.0)  # 50.00 Hz in 0.01 Hz
    assert f32_abcd(high, 0) == pytest.approx(145.76)  # ImpEp, kWh
    assert f32_abcd(high, 0x4020 - 0x401E) == pytest.approx(147.52)  # ImpEpA
    assert f32_abcd(high, 0x4028 - 0x401E) == pytest.approx(22.26)  # ExpEp


async def test_sun2000_sequence_detection_then_0x0836_x80_then_0x08a6_x10() -> None:
    table = compile_profile(PROFILES["huawei_dtsu666h"], VALUES, preset="huawei_sun2000")
    assert table.unit_id == 11
    async with serving(table, VALUES) as server, client(server) as modbus:
        detection = await modbus.read_holding_registers(0x07D1, count=1, device_id=11)
        assert detection.registers == [0x3B11]
        regs = (await modbus.read_holding_registers(0x0836, count=80, device_id=11)).registers
        tail = await modbus.read_holding_registers(0x08A6, count=10, device_id=11)
        assert tail.registers == [0] * 10
        other_unit = await modbus.read_holding_registers(0x07D1, count=1, device_id=1)
        assert isinstance(other_unit, ExceptionResponse)
    # offsets from 2102 (0x0836), as the bus log lays them out
    assert f32_abcd(regs, 2102 - 2102) == pytest.approx(1.607)  # Ia
    assert f32_abcd(regs, 2108 - 2102) == pytest.approx(235.0333, rel=1e-5)  # mean phase V
    assert f32_abcd(regs, 2110 - 2102) == pytest.approx(235.0)  # Ua
    assert f32_abcd(regs, 2124 - 2102) == pytest.approx(50.0)  # frequency
    assert f32_abcd(regs, 2126 - 2102) == pytest.approx(72.2, rel=1e-5)  # total active power W
    assert f32_abcd(regs, 2128 - 2102) == pytest.approx(226.9)  # Pa
    assert f32_abcd(regs, 2150 - 2102) == pytest.approx(-0.114)  # total PF
    assert f32_abcd(regs, 2158 - 2102) == pytest.approx(123.5)  # net = 145.76 - 22.26 kWh
    assert f32_abcd(regs, 2166 - 2102) == pytest.approx(145.76)  # import kWh
    assert f32_abcd(regs, 2168 - 2102) == pytest.approx(147.52)  # import phase A
    assert f32_abcd(regs, 2174 - 2102) == pytest.approx(22.26)  # export kWh


async def test_old_sun2000_firmware_preset_answers_0x3f80() -> None:
    table = compile_profile(
        PROFILES["huawei_dtsu666h"], VALUES, preset="huawei_sun2000_old_firmware"
    )
    async with serving(table, VALUES) as server, client(server) as modbus:
        detection = await modbus.read_holding_registers(0x07D1, count=1, device_id=11)
    assert detection.registers == [0x3F80]


# A SUN2000 <-> DTSU666-H exchange recorded on the bus (eydam-prototyping/mp_modbus,
# test/HUAWEI-SUN-2000/2021-08-01_HUAWEI-Log.csv, line 4): "0b 03 08 36 00 50" answered by
# these 160 data bytes, 40 float32 high word first.
RECORDED = bytes.fromhex(
    "3fcdb22d3ec9374c3f2b851f436b0000436acccd436b4ccd436b199a43cb8ccd"
    "43cb8ccd43cba66643cb733342480000429066664362e666c261999ac2c4999a"
    "c3af599ac339999ac2666666c2d6cccd441c0ccd43bbd99a42b83333431c3333"
    "bde978d5bf1a9fbebf1c6a7fbf224dd342f7000042ff28f6c02f5c29bfae147b"
    "4311c28f4313851f42447ae14255d70a41b2147b419f851f424f70a4425b47ae"
)
# the slot each float feeds, in the order of the log; None = derived by the profile
RECORDED_LAYOUT = [
    "current_l1", "current_l2", "current_l3", "voltage", "voltage_l1", "voltage_l2",
    "voltage_l3", None, "voltage_l1_l2", "voltage_l2_l3", "voltage_l3_l1", "frequency",
    "power", "power_l1", "power_l2", "power_l3", "reactive_power", "reactive_power_l1",
    "reactive_power_l2", "reactive_power_l3", "apparent_power", "apparent_power_l1",
    "apparent_power_l2", "apparent_power_l3", "power_factor", "power_factor_l1",
    "power_factor_l2", "power_factor_l3", None, None, None, None, "energy_import",
    "energy_import_l1", "energy_import_l2", "energy_import_l3", "energy_export",
    "energy_export_l1", "energy_export_l2", "energy_export_l3",
]  # fmt: skip


async def test_recorded_sun2000_exchange_is_reproduced_from_its_own_values() -> None:
    recorded = list(struct.unpack(">40f", RECORDED))
    slots: dict[str, float | None] = {}
    for name, value in zip(RECORDED_LAYOUT, recorded, strict=True):
        if name is not None:
            slots[name] = value * (1000.0 if name.startswith("energy") else 1.0)  # kWh -> Wh
    table = compile_profile(PROFILES["huawei_dtsu666h"], slots)
    async with serving(table, slots) as server, client(server) as modbus:
        answer = await modbus.read_holding_registers(0x0836, count=80, device_id=11)
    served = list(struct.unpack(">40f", struct.pack(">80H", *answer.registers)))
    for index, (name, ours, theirs) in enumerate(
        zip(RECORDED_LAYOUT, served, recorded, strict=True)
    ):
        if name is None:  # mean line voltage, net energies: computed, not copied
            assert ours == pytest.approx(theirs, abs=0.02), index
        else:
            assert ours == pytest.approx(theirs, rel=1e-6), (index, name)
