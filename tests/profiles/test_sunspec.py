"""SunSpec profiles decoded by pysunspec2 (an independent scanner) over a real socket."""

from __future__ import annotations

import asyncio
import math

import pytest
from pymodbus.pdu import ExceptionResponse
from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP

from custom_components.modbus_server.profiles import PROFILES
from custom_components.modbus_server.profiles.compile import Stale, compile_profile
from custom_components.modbus_server.profiles.model import Identity

from .helpers import client, serving

IDENTITY = Identity(manufacturer="Acme", model="Grid meter", serial="SN-4711", version="2.1.0")
METER = {
    "power": -1234.0,  # exporting 1.234 kW
    "power_l1": -400.0,
    "power_l2": -400.0,
    "power_l3": -434.0,
    "current_l1": 1.75,
    "current_l2": 2.5,
    "current_l3": 3.25,
    "voltage_l1": 230.1,
    "voltage_l2": 231.2,
    "voltage_l3": 229.9,
    "voltage_l1_l2": 400.1,
    "frequency": 49.98,
    "power_factor": 0.95,
    "energy_import": 1_234_567.0,
    "energy_export": 7_654.0,
}


def scan(port: int) -> SunSpecModbusClientDeviceTCP:
    """pysunspec2's own scan and full read of every model (blocking; run in a thread)."""
    device = SunSpecModbusClientDeviceTCP(slave_id=1, ipaddr="127.0.0.1", ipport=port, timeout=2)
    device.scan()
    for models in device.models.values():
        for model in models if isinstance(models, list) else [models]:
            model.read()
    device.close()
    return device


@pytest.mark.parametrize("model", [201, 203, 211, 213])
async def test_pysunspec2_scans_meter_and_reads_values_with_scale_factors(model: int) -> None:
    table = compile_profile(PROFILES[f"sunspec_meter_{model}"], METER, identity=IDENTITY)
    async with serving(table, METER) as server:
        device = await asyncio.to_thread(scan, server.port)
    assert device.base_addr == 40000
    assert sorted(k for k in device.models if isinstance(k, int)) == [1, model]
    common = device.common[0]
    assert common.Mn.cvalue == "Acme"
    assert common.Md.cvalue == "Grid meter"
    assert common.SN.cvalue == "SN-4711"
    assert common.Vr.cvalue == "2.1.0"
    assert common.DA.cvalue == 1
    meter = device.models[model][0]
    assert meter.L.cvalue == (105 if model < 211 else 124)
    # cvalue applies the model's scale factor: W_SF 0, A_SF -2, V_SF -1, Hz_SF -2
    assert meter.W.cvalue == pytest.approx(-1234.0)
    assert meter.WphC.cvalue == pytest.approx(-434.0)
    # A is not bound: the sum of the phases 1.75 + 2.5 + 3.25 = 7.5 A
    assert meter.A.cvalue == pytest.approx(7.5)
    assert meter.AphB.cvalue == pytest.approx(2.5)
    assert meter.Hz.cvalue == pytest.approx(49.98, abs=0.005)
    # PhV not bound: mean of the phases (230.1 + 231.2 + 229.9) / 3 = 230.4 V
    assert meter.PhV.cvalue == pytest.approx(230.4, abs=0.05)
    line = meter.PhVphAB if model == 203 else meter.PPVphAB  # 203 names it PhVphAB
    assert line.cvalue == pytest.approx(400.1, abs=0.05)
    assert meter.TotWhImp.cvalue == pytest.approx(1_234_567.0)
    assert meter.TotWhExp.cvalue == pytest.approx(7654.0)
    # PF: percent in 201/203 (95.0 %), a ratio in 211/213
    assert meter.PF.cvalue == pytest.approx(95.0 if model < 211 else 0.95, rel=1e-3)
    if model < 211:
        assert meter.W_SF.value == 0
        assert meter.A_SF.value == -2
        assert meter.V_SF.value == -1
        assert meter.A.value == 750  # raw 750 x 10^-2 A, by hand
        # VA is not bound and has no phases bound: SunSpec 'not implemented' (0x8000)
        assert meter.VA.value is None
        assert meter.TotVAhExp.value is None  # acc32 unimplemented = 0
    else:
        assert meter.VA.value is None  # NaN: not implemented
    assert meter.Evt.cvalue == 0


@pytest.mark.parametrize("model", [101, 103, 111, 113])
async def test_pysunspec2_scans_inverter(model: int) -> None:
    values = {"power": 4321.0, "energy": 9_876_543.0, "frequency": 50.01, "status": 4}
    table = compile_profile(PROFILES[f"sunspec_inverter_{model}"], values)
    async with serving(table, values) as server:
        device = await asyncio.to_thread(scan, server.port)
    inverter = device.models[model][0]
    assert inverter.L.cvalue == (50 if model < 111 else 60)
    assert inverter.W.cvalue == pytest.approx(4321.0)
    assert inverter.WH.cvalue == pytest.approx(9_876_543.0)
    assert inverter.Hz.cvalue == pytest.approx(50.01, abs=0.005)
    assert inverter.St.cvalue == 4  # MPPT
    assert inverter.DCV.value is None  # not bound: not implemented


async def test_scanner_probes_0_and_50000_get_exceptions_on_an_open_connection() -> None:
    table = compile_profile(PROFILES["sunspec_meter_213"], METER)
    async with serving(table, METER) as server, client(server) as modbus:
        for base in (0, 50000):
            answer = await modbus.read_holding_registers(base, count=2, device_id=1)
            assert isinstance(answer, ExceptionResponse)
            assert answer.exception_code == 2
        marker = await modbus.read_holding_registers(40000, count=2, device_id=1)
        assert bytes.fromhex(f"{marker.registers[0]:04x}{marker.registers[1]:04x}") == b"SunS"
        # end marker after model 213: 40000 + 2 + (2 + 66) + (2 + 124) = 40196
        end = await modbus.read_holding_registers(40196, count=2, device_id=1)
        assert end.registers == [0xFFFF, 0]


async def test_stale_power_fails_the_read_or_reads_not_implemented() -> None:
    profile = PROFILES["sunspec_meter_213"]
    stale = dict(METER, power=None)
    failing = compile_profile(profile, METER)
    async with serving(failing, stale) as server, client(server) as modbus:
        answer = await modbus.read_holding_registers(40072, count=124, device_id=1)
        assert isinstance(answer, ExceptionResponse)
        assert answer.exception_code == 4
    missing = compile_profile(profile, METER, stale=Stale.MISSING)
    async with serving(missing, stale) as server:
        device = await asyncio.to_thread(scan, server.port)
    assert device.models[213][0].W.value is None
    assert math.isclose(device.models[213][0].WphA.cvalue, -400.0)


async def test_fc43_identification_matches_the_common_model() -> None:
    table = compile_profile(PROFILES["sunspec_meter_203"], METER, identity=IDENTITY)
    async with serving(table, METER) as server, client(server) as modbus:
        info = await modbus.read_device_information(device_id=1)
    assert info.information[0] == b"Acme"  # VendorName = common model Mn
    assert info.information[2] == b"2.1.0"  # MajorMinorRevision = Vr
