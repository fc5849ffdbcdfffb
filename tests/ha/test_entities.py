"""Diagnostic entities and integration-owned points, with a real pymodbus client."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, restore_state as rs
from homeassistant.helpers.json import json_bytes
from homeassistant.util.json import json_loads
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.modbus_server.const import DOMAIN
from custom_components.modbus_server.modbus import Area
from custom_components.modbus_server.number import number_limits
from custom_components.modbus_server.registermap import DataType

from .conftest import (
    async_edit_table,
    only_device,
    point_data,
    point_subentry,
    server_data,
    tcp_client,
)

COIL = "switch.plant_pump_enable"
SETPOINT = "number.plant_setpoint"
LEVEL = "sensor.plant_level"
ALARM = "binary_sensor.plant_alarm"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """One owned point per area, plus an entity point."""
    return [
        point_subentry(
            point_data("coil", 0, "bool", name="Pump enable", writable=True), "owned_coil"
        ),
        point_subentry(
            point_data(
                "holding_register",
                0,
                "int16",
                name="Setpoint",
                scale=0.5,
                writable=True,
                unit="°C",
            ),
            "owned_hr",
        ),
        point_subentry(
            point_data("input_register", 0, "float32", name="Level", unit="%"), "owned_ir"
        ),
        point_subentry(point_data("discrete_input", 0, "bool", name="Alarm"), "owned_di"),
        point_subentry(
            point_data("input_register", 10, "float32", entity_id="sensor.outside"), "mapped"
        ),
    ]


async def test_owned_entities_exist_per_area(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    for entity_id, subentry_id in (
        (COIL, "owned_coil"),
        (SETPOINT, "owned_hr"),
        (LEVEL, "owned_ir"),
        (ALARM, "owned_di"),
    ):
        entry = entity_registry.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.unique_id == subentry_id
        assert entry.config_entry_id == loaded_entry.entry_id
        assert entry.device_id is not None
        # no value yet: never set, nothing to restore
        assert hass.states.get(entity_id).state == STATE_UNKNOWN  # type: ignore[union-attr]
    setpoint = hass.states.get(SETPOINT)
    assert setpoint is not None
    assert setpoint.attributes["min"] == -16384.0
    assert setpoint.attributes["max"] == 16383.5
    assert setpoint.attributes["step"] == 0.5
    assert setpoint.attributes["unit_of_measurement"] == "°C"


async def test_modbus_write_changes_the_entity_at_once(
    hass: HomeAssistant, client: AsyncModbusTcpClient
) -> None:
    response = await client.write_coil(0, True)
    assert not response.isError()
    # No block_till_done: the state is there when the response is.
    assert hass.states.get(COIL).state == STATE_ON  # type: ignore[union-attr]

    response = await client.write_register(0, 43)  # raw 43 x 0.5
    assert not response.isError()
    assert float(hass.states.get(SETPOINT).state) == 21.5  # type: ignore[union-attr]


async def test_ha_changes_are_what_clients_read(
    hass: HomeAssistant, client: AsyncModbusTcpClient
) -> None:
    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: COIL}, blocking=True)
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: SETPOINT, "value": -3.5}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN, "set_value", {ATTR_ENTITY_ID: [LEVEL], "value": "42.25"}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN, "set_value", {ATTR_ENTITY_ID: ALARM, "value": "on"}, blocking=True
    )
    assert hass.states.get(LEVEL).state == "42.25"  # type: ignore[union-attr]
    assert hass.states.get(ALARM).state == STATE_ON  # type: ignore[union-attr]

    coils = await client.read_coils(0, count=1)
    assert coils.bits[0] is True
    holding = await client.read_holding_registers(0, count=1)
    assert holding.registers == [(-7) & 0xFFFF]
    level = await client.read_input_registers(0, count=2)
    assert client.convert_from_registers(level.registers, client.DATATYPE.FLOAT32) == pytest.approx(
        42.25
    )
    alarm = await client.read_discrete_inputs(0, count=1)
    assert alarm.bits[0] is True

    await hass.services.async_call("switch", "turn_off", {ATTR_ENTITY_ID: COIL}, blocking=True)
    coils = await client.read_coils(0, count=1)
    assert coils.bits[0] is False


async def test_set_value_refuses_values_that_do_not_fit(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_value", {ATTR_ENTITY_ID: ALARM, "value": 7}, blocking=True
        )
    assert err.value.translation_key == "invalid_value"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "set_value", {ATTR_ENTITY_ID: LEVEL, "value": "lots"}, blocking=True
        )
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number", "set_value", {ATTR_ENTITY_ID: SETPOINT, "value": 100000}, blocking=True
        )
    assert hass.states.get(ALARM).state == STATE_UNKNOWN  # type: ignore[union-attr]


async def test_set_value_takes_numeric_text_for_a_number(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    await hass.services.async_call(
        DOMAIN, "set_value", {ATTR_ENTITY_ID: SETPOINT, "value": "12.5"}, blocking=True
    )
    assert hass.states.get(SETPOINT).state == "12.5"  # type: ignore[union-attr]
    assert (await client.read_holding_registers(0, count=1)).registers == [25]  # scale 0.5
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "set_value", {ATTR_ENTITY_ID: SETPOINT, "value": "warm"}, blocking=True
        )
    assert hass.states.get(SETPOINT).state == "12.5"  # type: ignore[union-attr]


@pytest.mark.parametrize(("value", "state"), [("On", STATE_ON), ("no", STATE_OFF), (1, STATE_ON)])
async def test_set_value_takes_on_off_text_for_a_binary_sensor(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, value: object, state: str
) -> None:
    await hass.services.async_call(
        DOMAIN, "set_value", {ATTR_ENTITY_ID: ALARM, "value": value}, blocking=True
    )
    assert hass.states.get(ALARM).state == state  # type: ignore[union-attr]


async def test_set_value_only_targets_owned_points(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.outside", "3")
    for target in ("sensor.outside", "sensor.plant_connected_clients"):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, "set_value", {ATTR_ENTITY_ID: target, "value": 1}, blocking=True
            )
        assert err.value.translation_key == "not_owned_point"


async def test_values_survive_a_restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(SETPOINT, "12.5"),
                {
                    "native_value": 12.5,
                    "native_unit_of_measurement": "°C",
                    "native_min_value": -16384.0,
                    "native_max_value": 16383.5,
                    "native_step": 0.5,
                },
            ),
            (State(LEVEL, "7.0"), {"native_value": 7.0, "native_unit_of_measurement": "%"}),
            # one cache holds them all: switch/binary_sensor restore from the state itself
            (State(COIL, STATE_ON), {}),
            (State(ALARM, STATE_OFF), {}),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    owned = only_device(entry).owned
    assert owned.get("owned_coil") is True
    assert owned.get("owned_di") is False
    assert owned.get("owned_hr") == 12.5
    assert owned.get("owned_ir") == 7.0
    assert hass.states.get(COIL).state == STATE_ON  # type: ignore[union-attr]
    assert float(hass.states.get(SETPOINT).state) == 12.5  # type: ignore[union-attr]
    # and the bridge serves the restored values
    assert only_device(entry).bridge.on_read(
        None, only_device(entry).register_map.points[1].area, 0, 1
    ) == [25]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_restored_value_that_no_longer_fits_is_dropped(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(SETPOINT, "99999"),
                {
                    "native_value": 99999.0,
                    "native_unit_of_measurement": None,
                    "native_min_value": 0,
                    "native_max_value": 1,
                    "native_step": 1,
                },
            )
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert hass.states.get(SETPOINT).state == STATE_UNKNOWN  # type: ignore[union-attr]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_removing_a_row_removes_its_entity(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    server = loaded_entry.runtime_data.server
    await async_edit_table(hass, loaded_entry, remove=("owned_coil",))
    assert loaded_entry.runtime_data.server is server  # swapped live, no reload
    assert entity_registry.async_get(COIL) is None
    assert hass.states.get(COIL) is None
    assert "owned_coil" not in loaded_entry.runtime_data.owned_entities


def test_number_limits_per_type() -> None:
    from custom_components.modbus_server.modbus.area import Area  # noqa: PLC0415
    from custom_components.modbus_server.registermap import Point  # noqa: PLC0415

    def limits(data_type: DataType, **kw: float) -> tuple[float, float, float]:
        point = Point(area=Area.HOLDING_REGISTER, address=0, data_type=data_type, **kw)  # type: ignore[arg-type]
        return number_limits(point)

    assert limits(DataType.UINT16) == (0, 65535, 1)
    assert limits(DataType.INT16, scale=-2.0, offset=1.0) == (-65533.0, 65537.0, 2.0)
    assert limits(DataType.BIT) == (0, 1, 1.0)
    low, high, _ = limits(DataType.FLOAT32)
    assert low == -high
    assert high > 3e38


async def test_owned_64_bit_values_survive_a_restart_exactly(
    hass: HomeAssistant, port: int
) -> None:
    """int64/uint64 above 2**53 through the real restore data, JSON and a new setup."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Plant",
        data=server_data(port),
        subentries_data=[
            point_subentry(
                point_data("holding_register", 0, "int64", name="Big", writable=True), "big"
            ),
            point_subentry(
                point_data("holding_register", 4, "uint64", name="Huge", writable=True), "huge"
            ),
            point_subentry(point_data("input_register", 0, "uint64", name="Total"), "total"),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    big, huge = 2**63 - 1, 2**53 + 1
    async with tcp_client(port) as modbus:
        registers = [
            *modbus.convert_to_registers(big, modbus.DATATYPE.INT64),
            *modbus.convert_to_registers(huge, modbus.DATATYPE.UINT64),
        ]
        assert not (await modbus.write_registers(0, registers)).isError()
    await hass.services.async_call(
        DOMAIN,
        "set_value",
        {ATTR_ENTITY_ID: "sensor.plant_total", "value": huge},
        blocking=True,
    )
    # what Home Assistant writes to .storage/core.restore_state at shutdown, and reads back
    cache: list[tuple[State, dict[str, Any]]] = []
    for stored in rs.async_get(hass).async_get_stored_states():
        item: dict[str, Any] = json_loads(json_bytes(stored.as_dict()))  # type: ignore[assignment]
        state = State.from_dict(item["state"])
        assert state is not None
        cache.append((state, item["extra_data"]))
    await hass.config_entries.async_unload(entry.entry_id)
    mock_restore_cache_with_extra_data(hass, cache)
    assert await hass.config_entries.async_setup(entry.entry_id)
    owned = only_device(entry).owned
    assert (owned.get("big"), owned.get("huge"), owned.get("total")) == (big, huge, huge)
    bridge = only_device(entry).bridge
    assert bridge.on_read(None, Area.HOLDING_REGISTER, 0, 8) == registers
    await hass.config_entries.async_unload(entry.entry_id)
