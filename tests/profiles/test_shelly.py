"""Shelly Pro 3EM decoded from Shelly's EM/EMData Modbus tables over a real socket.

Input registers, float32 low word first (31013 = input register 1013); as the Victron
dbus-modbus-client Shelly driver reads them, including its component probing.
"""

from __future__ import annotations

import pytest
from pymodbus.pdu import ExceptionResponse

from custom_components.modbus_server.profiles import PROFILES
from custom_components.modbus_server.profiles.compile import compile_profile

from .helpers import client, f32_cdab, serving

VALUES = {
    "power_l1": 500.0,
    "power_l2": -120.5,
    "power_l3": 20.5,
    "voltage_l2": 233.3,
    "current_l3": 0.75,
    "energy_import": 4_567_000.0,
    "energy_export_l1": 1_000.0,
}


def text(registers: list[int]) -> str:
    """Shelly text: low byte of each register first."""
    return b"".join(r.to_bytes(2, "little") for r in registers).rstrip(b"\0").decode()


async def test_pro3em_model_probe_and_values() -> None:
    table = compile_profile(PROFILES["shelly_pro_3em"], VALUES)
    async with serving(table, VALUES) as server, client(server) as modbus:
        model = await modbus.read_input_registers(6, count=10, device_id=1)
        assert text(model.registers) == "SPEM-003CEBEU"
        mac = await modbus.read_input_registers(0, count=6, device_id=1)
        assert text(mac.registers) == "A0B1C2D3E4F5"
        # component probing: EM:0 at 1000 answers; EM:1 (1080) and EM1 (2000..) do not
        assert not (await modbus.read_input_registers(1000, count=2, device_id=1)).isError()
        for probe in (1080, 2000, 2020, 2040):
            answer = await modbus.read_input_registers(probe, count=2, device_id=1)
            assert isinstance(answer, ExceptionResponse)
            assert answer.exception_code == 2
        em = (await modbus.read_input_registers(1000, count=80, device_id=1)).registers
        data = (await modbus.read_input_registers(1160, count=70, device_id=1)).registers
    # total active power not bound: 500 - 120.5 + 20.5 = 400 W
    assert f32_cdab(em, 1013 - 1000) == pytest.approx(400.0)
    assert f32_cdab(em, 1024 - 1000) == pytest.approx(500.0)  # phase A active power
    assert f32_cdab(em, 1040 - 1000) == pytest.approx(233.3)  # phase B voltage (1020 + 20)
    assert f32_cdab(em, 1062 - 1000) == pytest.approx(0.75)  # phase C current (1022 + 40)
    assert f32_cdab(data, 1162 - 1160) == pytest.approx(4_567_000.0)  # total import, Wh
    assert f32_cdab(data, 1184 - 1160) == pytest.approx(1000.0)  # phase A export, Wh
