"""What every profile shares: options, stale and missing slots, kept writes, counters, units."""

from __future__ import annotations

import itertools
import struct

import pytest
from pymodbus.pdu import ExceptionResponse

from custom_components.modbus_server.modbus import Server
from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.profiles import (
    PROFILES,
    carlo_gavazzi,
    chint,
    eastron,
    shelly,
    sunspec,
)
from custom_components.modbus_server.profiles.compile import (
    Options,
    ProfileError,
    ProfileTable,
    Stale,
    compile_profile,
)
from custom_components.modbus_server.profiles.counters import MonotonicCounter, SlotValues
from custom_components.modbus_server.profiles.model import Held, Identity, Quantity
from custom_components.modbus_server.profiles.units import to_base_unit
from custom_components.modbus_server.registermap import UNAVAILABLE, DataType

from .helpers import client, f32_abcd, serving

SDM630 = PROFILES["eastron_sdm630"]


@pytest.mark.parametrize("key", sorted(PROFILES))
def test_every_profile_compiles_with_all_slots_and_keeps_rows_inside_its_ranges(key: str) -> None:
    profile = PROFILES[key]
    table = compile_profile(profile, [slot.name for slot in profile.slots])
    for row in profile.rows:
        count = (
            row.length if row.data_type is DataType.STRING else row.data_type.fixed_register_count
        )
        last = row.address + (count or 1) - 1
        assert any(first <= row.address and last <= end for first, end in profile.ranges), row.name
    values = table.values({slot.name: 1.0 for slot in profile.slots})
    assert set(values) == {row.name for row in profile.rows}
    assert len({row.name for row in profile.rows}) == len(profile.rows)


def test_required_slot_unbound_names_it_and_phases_satisfy_a_total() -> None:
    with pytest.raises(ProfileError, match="needs a source for power"):
        compile_profile(SDM630, ["voltage_l1"])
    compile_profile(SDM630, ["power_l1", "power_l2", "power_l3"])  # the total derives
    with pytest.raises(ProfileError, match="has no slot bogus"):
        compile_profile(SDM630, ["power", "bogus"])
    with pytest.raises(ProfileError, match="no preset"):
        compile_profile(SDM630, ["power"], preset="nope")


async def test_stale_slot_fails_reads_touching_it_and_other_rows_still_answer() -> None:
    table = compile_profile(SDM630, ["power", "voltage_l1"])
    values = {"power": None, "voltage_l1": 230.0}
    async with serving(table, values) as server, client(server) as modbus:
        power = await modbus.read_input_registers(0x0034, count=2, device_id=1)
        assert isinstance(power, ExceptionResponse)
        assert power.exception_code == 4
        voltage = await modbus.read_input_registers(0x0000, count=2, device_id=1)
        assert f32_abcd(voltage.registers, 0) == pytest.approx(230.0)
    missing = compile_profile(SDM630, ["power"], stale=Stale.MISSING)
    registers = missing.read(Area.INPUT_REGISTER, 0x0034, 2, {"power": None})
    assert f32_abcd(registers, 0) == 0.0  # the SDM profile's missing value


def test_unbound_optional_slot_reads_the_missing_value_and_shows_unavailable() -> None:
    table = compile_profile(SDM630, ["power"])
    assert table.read(Area.INPUT_REGISTER, 0x0000, 2, {"power": 5.0}) == [0, 0]
    assert table.values({"power": 5.0})["voltage_l1"] is UNAVAILABLE


def test_invert_power_negates_signed_slots_only() -> None:
    table = compile_profile(SDM630, ["power", "energy_import"], invert_power=True)
    values = table.values({"power": 1500.0, "energy_import": 2000.0})
    assert values["power"] == -1500.0
    assert values["energy_import"] == pytest.approx(2.0)  # kWh, not negated


async def test_multi_register_values_are_never_half_old_half_new() -> None:
    # the source changes on every call; every float32 read must be one value, whole
    candidates = itertools.cycle([1.5, -98765.25, 3.0e9])
    seen = set()

    def slots() -> dict[str, float | None]:
        return {"power": next(candidates)}

    table = compile_profile(SDM630, ["power"])
    async with serving(table, slots) as server, client(server) as modbus:
        for _ in range(60):
            answer = await modbus.read_input_registers(0x0034, count=2, device_id=1)
            seen.add(f32_abcd(answer.registers, 0))
    assert seen == {1.5, -98765.25, 3.0e9}
    # the table encodes a whole value at once: reading each half re-encodes one value
    high = table.read(Area.INPUT_REGISTER, 0x0034, 1, {"power": 1.5})
    low = table.read(Area.INPUT_REGISTER, 0x0035, 1, {"power": 1.5})
    assert struct.unpack(">f", struct.pack(">HH", *high, *low))[0] == 1.5


def test_monotonic_counter_keeps_the_total_across_resets_and_outages() -> None:
    counter = MonotonicCounter()
    assert counter.update(None) is None
    assert counter.update(1000.0) == 1000.0
    assert counter.update(1500.0) == 1500.0
    assert counter.update(None) == 1500.0  # unavailable: last total
    assert counter.update(0.0) == 1500.0  # reset: no step back
    assert counter.update(200.0) == 1700.0  # counts on from the new value
    assert counter.update(150.0) == 1700.0


async def test_energy_register_never_goes_backwards_when_the_source_resets() -> None:
    slots = SlotValues(SDM630)
    table = compile_profile(SDM630, ["power", "energy_import"])
    async with serving(table, lambda: slots) as server, client(server) as modbus:
        totals = []
        for power, energy in ((100.0, 5000.0), (100.0, 0.0), (100.0, 300.0), (100.0, None)):
            slots.set("power", power)
            slots.set("energy_import", energy)
            answer = await modbus.read_input_registers(0x0048, count=2, device_id=1)
            totals.append(f32_abcd(answer.registers, 0))
    assert totals == [5.0, 5.0, pytest.approx(5.3), pytest.approx(5.3)]


@pytest.mark.parametrize(
    ("value", "unit", "quantity", "expected"),
    [
        (1.5, "kW", Quantity.POWER, 1500.0),
        (2.0, "MWh", Quantity.ENERGY, 2e6),
        (12.5, "kWh", Quantity.ENERGY, 12500.0),
        (95.0, "%", Quantity.POWER_FACTOR, 0.95),
        (230.0, "V", Quantity.VOLTAGE, 230.0),
    ],
)
def test_entity_units_convert_to_the_slot_base_unit(
    value: float, unit: str, quantity: Quantity, expected: float
) -> None:
    assert to_base_unit(value, unit, quantity) == pytest.approx(expected)


def test_a_unit_of_another_quantity_is_refused_with_the_accepted_units() -> None:
    with pytest.raises(ValueError, match="'W', 'kW', 'MW'"):
        to_base_unit(1.0, "kWh", Quantity.POWER)


async def test_writes_to_read_only_rows_answer_illegal_data_address() -> None:
    for key, address in (("eastron_sdm630", 0x0000), ("sunspec_meter_203", 40000)):
        profile = PROFILES[key]
        table = compile_profile(profile, ["power"])
        assert not any(isinstance(row.source, Held) for row in profile.rows)
        async with serving(table, {"power": 1.0}) as server, client(server) as modbus:
            answer = await modbus.write_registers(address, [1, 2], device_id=1)
            assert isinstance(answer, ExceptionResponse)
            assert answer.exception_code == 2


def test_identity_that_does_not_fit_its_registers_fails_at_compile_time() -> None:
    profile = PROFILES["sunspec_meter_203"]
    with pytest.raises(ProfileError, match=r"common\.SN: .*does not fit 16 registers"):
        compile_profile(profile, ["power"], identity=Identity(serial="X" * 33))


def test_overrides_name_constant_rows_only() -> None:
    em24 = PROFILES["carlo_gavazzi_em24"]
    table = ProfileTable(em24, Options(bound=frozenset({"power"}), overrides={"model_code": 1651}))
    assert table.read(Area.HOLDING_REGISTER, 0x000B, 1, {"power": 1.0}) == [1651]
    with pytest.raises(ProfileError, match="no constant row power"):
        ProfileTable(em24, Options(bound=frozenset({"power"}), overrides={"power": 1}))


def test_slot_values_refuse_a_name_the_profile_does_not_have() -> None:
    with pytest.raises(KeyError, match="no slot 'powr'"):
        SlotValues(SDM630).set("powr", 1.0)


async def test_sunspec_integer_power_beyond_int16_fails_the_read_the_float_model_serves_it() -> (
    None
):
    values = {"power": 40_000.0}
    integer = compile_profile(PROFILES["sunspec_meter_203"], values)
    async with serving(integer, values) as server, client(server) as modbus:
        answer = await modbus.read_holding_registers(40070, count=20, device_id=1)
        assert isinstance(answer, ExceptionResponse)
        assert answer.exception_code == 4
    floating = compile_profile(PROFILES["sunspec_meter_213"], values)
    # W is the 14th float32 of model 213: 40070 + 2 + 2 x 13 = 40098
    registers = floating.read(Area.HOLDING_REGISTER, 40098, 2, values)
    assert f32_abcd(registers, 0) == 40_000.0


async def test_two_profile_devices_on_one_server_answer_their_own_unit_ids() -> None:
    values = {"power": -750.0}
    sdm = compile_profile(SDM630, values, preset="growatt")  # unit 2
    sunspec = compile_profile(PROFILES["sunspec_meter_213"], values)  # unit 1
    server = Server(
        host="127.0.0.1",
        port=0,
        devices=[sdm.device(lambda: values), sunspec.device(lambda: values)],
    )
    async with server, client(server) as modbus, client(server) as other:
        growatt = await modbus.read_input_registers(0x0034, count=2, device_id=2)
        scanner = await other.read_holding_registers(40098, count=2, device_id=1)
        crossed = await modbus.read_holding_registers(40098, count=2, device_id=2)
    assert f32_abcd(growatt.registers, 0) == -750.0
    assert f32_abcd(scanner.registers, 0) == -750.0  # model 213 W
    assert isinstance(crossed, ExceptionResponse)  # the SDM630 has no SunSpec registers
    assert crossed.exception_code == 2


def test_registry_holds_every_module_profile_once() -> None:
    modules = (sunspec, eastron, chint, carlo_gavazzi, shelly)
    assert sum(len(module.PROFILES) for module in modules) == len(PROFILES) == 15
    assert all(profile.key == key for key, profile in PROFILES.items())
