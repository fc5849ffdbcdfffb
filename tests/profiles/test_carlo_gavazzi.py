"""Carlo Gavazzi EM24 as a Victron GX reads it, decoded from the published map.

From victronenergy/dbus-modbus-client carlo_gavazzi.py: model code 0x000B (1648..1653),
versions 0x0302/0x0304, phase configuration 0x1002, serial 0x5000 (7 registers), application
0xA000 (written to 7 and read back), signed 32-bit values low word first.
"""

from __future__ import annotations

import pytest
from pymodbus.pdu import ExceptionResponse

from custom_components.modbus_server.profiles import PROFILES
from custom_components.modbus_server.profiles.compile import compile_profile
from custom_components.modbus_server.profiles.model import Identity

from .helpers import client, s32_cdab, serving

VALUES = {
    "power": -3456.7,
    "voltage_l1": 231.4,
    "current_l1": 12.345,
    "power_l1": -1150.5,
    "frequency": 49.9,
    "energy_import": 98_765_400.0,  # 98765.4 kWh
    "energy_export": 1_234_500.0,
}
IDENTITY = Identity(
    manufacturer="Carlo Gavazzi", model="EM24", serial="BX123456789012", version="1.8.3"
)


async def test_gx_detection_info_and_data_registers() -> None:
    table = compile_profile(
        PROFILES["carlo_gavazzi_em24"], VALUES, preset="victron_gx", identity=IDENTITY
    )
    async with serving(table, VALUES) as server, client(server) as modbus:
        model = await modbus.read_holding_registers(0x000B, count=1, device_id=1)
        assert model.registers[0] in range(1648, 1654)  # an EM24 code, not another meter's
        firmware = (await modbus.read_holding_registers(0x0304, count=1, device_id=1)).registers[0]
        # the GX decodes v >> 12, v >> 8 & 0xF, v & 0xFF
        assert (firmware >> 12, firmware >> 8 & 0xF, firmware & 0xFF) == (1, 8, 3)
        phases = await modbus.read_holding_registers(0x1002, count=1, device_id=1)
        assert phases.registers == [0]  # '3P.n': three phases
        serial = await modbus.read_holding_registers(0x5000, count=7, device_id=1)
        text = b"".join(r.to_bytes(2, "big") for r in serial.registers).rstrip(b"\0")
        assert text == b"BX123456789012"
        data = (await modbus.read_holding_registers(0x0000, count=0x50, device_id=1)).registers
        inputs = (await modbus.read_input_registers(0x0000, count=0x50, device_id=1)).registers
    assert inputs == data  # FC04 (mbmd) answers what FC03 (the GX) does
    assert s32_cdab(data, 0x0000) / 10 == pytest.approx(231.4)  # V L1-N x10
    assert s32_cdab(data, 0x000C) / 1000 == pytest.approx(12.345)  # A L1 x1000
    assert s32_cdab(data, 0x0012) / 10 == pytest.approx(-1150.5)  # W L1 x10
    assert s32_cdab(data, 0x0028) == -34567  # W sys x10: -3456.7 W, by hand
    assert data[0x0033] / 10 == pytest.approx(49.9)  # Hz x10, uint16
    assert s32_cdab(data, 0x0034) == 987654  # kWh(+) x10: 98765.4 kWh
    assert s32_cdab(data, 0x004E) / 10 == pytest.approx(1234.5)  # kWh(-)


async def test_gx_sets_application_to_7_and_reads_it_back() -> None:
    table = compile_profile(PROFILES["carlo_gavazzi_em24"], VALUES)
    async with serving(table, VALUES) as server, client(server) as modbus:
        assert not (await modbus.write_register(0xA000, 3, device_id=1)).isError()
        assert (await modbus.read_holding_registers(0xA000, count=1, device_id=1)).registers == [3]
        assert not (await modbus.write_register(0xA000, 7, device_id=1)).isError()
        assert (await modbus.read_holding_registers(0xA000, count=1, device_id=1)).registers == [7]
        refused = await modbus.write_register(0xA000, 9, device_id=1)
        assert isinstance(refused, ExceptionResponse)
        assert refused.exception_code == 3
        read_only = await modbus.write_register(0x000B, 1, device_id=1)
        assert isinstance(read_only, ExceptionResponse)
        assert read_only.exception_code == 2
        assert (await modbus.read_holding_registers(0xA000, count=1, device_id=1)).registers == [7]
