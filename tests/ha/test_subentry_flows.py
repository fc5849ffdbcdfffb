"""The address table in the UI: one row, many rows, imports; with every error branch."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.modbus_server.bindings import get_binding
from custom_components.modbus_server.helpers import point_from_data, point_title
from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.registermap import (
    Point,
    RegisterMap,
    export_csv,
    export_json,
)
from custom_components.modbus_server.table_store import async_get_table_store

from .conftest import DEVICE_ID, only_device, point_data, point_subentry, stored_rows

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROW_FLOW = "custom_components.modbus_server.flows.row"
PLANNING = "custom_components.modbus_server.planning"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """HR 0..1 is taken by an int32; IR 0 by an int16."""
    return [
        point_subentry(
            point_data("holding_register", 0, "int32", entity_id="sensor.existing"), "hr0"
        ),
        point_subentry(point_data("input_register", 0, "int16", entity_id="sensor.x"), "ir0"),
    ]


@pytest.fixture
async def added(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """The entry known to hass (not set up: the flows need no running server)."""
    entry.add_to_hass(hass)
    await async_get_table_store(hass, entry.entry_id)  # what `stored_rows` reads
    hass.states.async_set("sensor.boiler_temp", "21.5", {"unit_of_measurement": "°C"})
    hass.states.async_set("climate.living", "heat", {"hvac_modes": ["off", "heat"]})
    hass.states.async_set("switch.pump", "on")
    return entry


async def start(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> Any:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": "user"}
    )


async def step(hass: HomeAssistant, result: Any, user_input: dict[str, Any]) -> Any:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)


def default_of(result: Any, name: str) -> Any:
    for key in result["data_schema"].schema:
        if key == name:
            return key.default()
    raise KeyError(name)


def new_row(hass: HomeAssistant, known: set[str]) -> dict[str, Any]:
    """The one row added to the device's table since `known` (row ids)."""
    rows = stored_rows(hass)
    (row_id,) = set(rows) - known
    return rows[row_id]


# --- one row ----------------------------------------------------------------------------------


async def test_sensor_row_with_title_and_prefilled_address(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    known = set(stored_rows(hass))
    result = await start(hass, added, "point")
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["entity", "owned"]
    result = await step(hass, result, {"next_step_id": "entity"})
    assert result["step_id"] == "entity"
    result = await step(hass, result, {"entity_id": "sensor.boiler_temp"})
    # sensor: no attributes -> straight to the area (input or holding register); it cannot
    # be written, so the read-only input register is pre-selected and listed first (3xxxx)
    assert result["step_id"] == "area"
    assert default_of(result, "area") == "input_register"
    (key,) = result["data_schema"].schema
    assert result["data_schema"].schema[key].config["options"] == [
        "input_register",
        "holding_register",
    ]
    result = await step(hass, result, {"area": "holding_register"})
    assert result["step_id"] == "point"
    # HR 0..1 is taken: the next free address for a float32 is 2
    assert default_of(result, "address") == 2
    assert default_of(result, "data_type") == "float32"
    # the entity's unit is suggested
    unit_key = next(key for key in result["data_schema"].schema if key == "unit")
    assert unit_key.description == {"suggested_value": "°C"}
    assert result["description_placeholders"] == {
        "area": "HR",
        "area_name": "holding register",
        "source": "sensor.boiler_temp",
        "first_reference": "40001",
        "device_stale_after": "off",  # what an empty stale after means for this row
    }
    result = await step(
        hass,
        result,
        {
            "address": 100,
            "data_type": "float32",
            "scale": 1,
            "offset": 0,
            "unit": "°C",
            "advanced": {"word_order": "little", "byte_order": "big"},
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "row_added"
    assert (
        result["description_placeholders"]["row"] == "HR 100 (40101) · sensor.boiler_temp · float32"
    )
    row = new_row(hass, known)
    assert row["entity_id"] == "sensor.boiler_temp"
    assert row["attribute"] is None
    assert row["word_order"] == "little"
    assert row["unit"] == "°C"
    assert row["writable"] is False


async def test_climate_attribute_row_is_writable(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    known = set(stored_rows(hass))
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "climate.living"})
    assert result["step_id"] == "attribute"
    assert default_of(result, "attribute") == "state"
    result = await step(hass, result, {"attribute": "temperature"})
    assert result["step_id"] == "area"
    result = await step(hass, result, {"area": "holding_register"})
    assert default_of(result, "writable") is True
    # the form says which value it is about: the attribute, not just the entity
    assert result["description_placeholders"]["source"] == "climate.living#temperature"
    result = await step(
        hass,
        result,
        {
            "address": 10,
            "data_type": "int16",
            "scale": 0.1,
            "offset": 0,
            "writable": True,
            "advanced": {"word_order": "big", "byte_order": "big"},
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "row_added"
    assert (
        result["description_placeholders"]["row"]
        == "HR 10 (40011) · climate.living#temperature · int16"
    )
    data = new_row(hass, known)
    assert data["attribute"] == "temperature"
    assert data["scale"] == 0.1
    assert data["writable"] is True


async def test_write_mode_is_chosen_in_the_advanced_section_of_a_writable_row(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    known = set(stored_rows(hass))
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "climate.living"})
    result = await step(hass, result, {"attribute": "temperature"})
    result = await step(hass, result, {"area": "holding_register"})
    assert section_values(result, "advanced")["write_mode"] == "default"
    result = await step(
        hass,
        result,
        {
            "address": 10,
            "data_type": "float32",
            "scale": 1,
            "offset": 0,
            "writable": True,
            "advanced": {"word_order": "big", "byte_order": "big", "write_mode": "always"},
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert new_row(hass, known)["write_mode"] == "always"
    # a value clients cannot write has no write mode to choose
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "sensor.boiler_temp"})
    result = await step(hass, result, {"area": "input_register"})
    assert "write_mode" not in section_values(result, "advanced")


async def test_climate_state_row(hass: HomeAssistant, added: MockConfigEntry) -> None:
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "climate.living"})
    result = await step(hass, result, {"attribute": "state"})
    result = await step(hass, result, {"area": "coil"})
    # bit areas ask only for address and writable
    assert [str(key) for key in result["data_schema"].schema] == [
        "address",
        "writable",
        "advanced",
    ]
    result = await step(hass, result, {"address": 0, "writable": True, "advanced": {}})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "row_added"
    assert result["description_placeholders"]["row"] == "CO 0 (00001) · climate.living · bool"


async def test_register_map_errors_are_shown_on_their_fields(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "sensor.boiler_temp"})
    result = await step(hass, result, {"area": "holding_register"})
    base = {"data_type": "float32", "scale": 1, "offset": 0, "advanced": {}}

    # overlaps the existing int32 at HR 0..1
    result = await step(hass, result, {**base, "address": 1})
    assert result["errors"] == {"address": "invalid_address"}
    # named by the row's title, with the address that is free
    assert result["description_placeholders"]["address_error"] == (
        "Overlaps the row HR 0 (40001) · sensor.existing · int32. "
        "The next free address for this type is 2."
    )
    # reported the same way when the new row starts before the existing one
    result = await step(hass, result, {**base, "address": 0, "data_type": "int16"})
    assert result["description_placeholders"]["address_error"].startswith(
        "Overlaps the row HR 0 (40001) · sensor.existing · int32."
    )

    # scale 0 is refused by validate_point
    result = await step(hass, result, {**base, "address": 20, "scale": 0})
    assert result["errors"] == {"scale": "invalid_scale"}
    assert result["description_placeholders"]["scale_error"]

    # a bit point needs its bit number: the error is shown on the advanced section
    result = await step(hass, result, {**base, "address": 20, "data_type": "bit"})
    assert result["errors"] == {"advanced": "invalid_bit"}
    assert "bit" in result["description_placeholders"]["bit_error"]

    # a string needs a length, and cannot take an unavailable number
    result = await step(
        hass,
        result,
        {**base, "address": 20, "data_type": "string", "advanced": {"unavailable_value": 3}},
    )
    assert result["errors"] == {"advanced": "invalid_length"}

    result = await step(
        hass, result, {**base, "address": 20, "data_type": "bit", "advanced": {"bit": 3}}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "row_added"
    assert result["description_placeholders"]["row"] == "HR 20.3 (40021) · sensor.boiler_temp · bit"


async def test_unsupported_domain_is_refused(hass: HomeAssistant, added: MockConfigEntry) -> None:
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    with patch(f"{ROW_FLOW}.get_binding", return_value=None):
        result = await step(hass, result, {"entity_id": "sensor.boiler_temp"})
    assert result["errors"] == {"entity_id": "unsupported_domain"}


class _OneArea:
    """A binding offering exactly one area (or none)."""

    def __init__(self, areas: list[Area]) -> None:
        self._areas = areas
        self._real = get_binding("sensor")

    def areas(self, attribute: str | None) -> list[Area]:
        return self._areas

    def attributes(self) -> list[str]:
        return []

    def default_data_type(self, area: Area, attribute: str | None, state: Any = None) -> Any:
        assert self._real is not None
        return self._real.default_data_type(area, attribute, state)

    def writable(self, area: Area, attribute: str | None) -> bool:
        return False


async def test_single_area_skips_the_area_step(hass: HomeAssistant, added: MockConfigEntry) -> None:
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    with patch(f"{ROW_FLOW}.get_binding", return_value=_OneArea([Area.INPUT_REGISTER])):
        result = await step(hass, result, {"entity_id": "sensor.boiler_temp"})
    assert result["step_id"] == "point"
    # IR 0 holds an int16: a float32 goes to 1
    assert default_of(result, "address") == 1


async def test_entity_without_servable_value_aborts(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    with patch(f"{ROW_FLOW}.get_binding", return_value=_OneArea([])):
        result = await step(hass, result, {"entity_id": "sensor.boiler_temp"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_area"


async def test_owned_number_row(hass: HomeAssistant, added: MockConfigEntry) -> None:
    known = set(stored_rows(hass))
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "owned"})
    assert result["step_id"] == "owned"
    result = await step(hass, result, {"name": " Setpoint ", "area": "holding_register"})
    assert default_of(result, "data_type") == "int16"
    assert default_of(result, "address") == 2
    assert default_of(result, "writable") is True

    result = await step(
        hass,
        result,
        {
            "address": 2,
            "data_type": "string",
            "scale": 1,
            "offset": 0,
            "writable": True,
            "advanced": {"length": 4},
        },
    )
    assert result["errors"] == {"data_type": "owned_string"}

    result = await step(
        hass,
        result,
        {
            "address": 2,
            "data_type": "int16",
            "scale": 0.5,
            "offset": 0,
            "writable": True,
            "advanced": {},
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "row_added"
    assert result["description_placeholders"]["row"] == "HR 2 (40003) · Setpoint · int16"
    data = new_row(hass, known)
    assert data["entity_id"] is None
    assert data["name"] == "Setpoint"


# --- reconfigure a row ------------------------------------------------------------------------


async def test_reconfigure_entity_row_keeps_its_own_address(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    result = await start_row_change(hass, added, "hr0")
    assert result["step_id"] == "entity"
    assert default_of(result, "entity_id") == "sensor.existing"
    result = await step(hass, result, {"entity_id": "sensor.existing"})
    assert default_of(result, "area") == "holding_register"
    result = await step(hass, result, {"area": "holding_register"})
    assert default_of(result, "address") == 0
    assert default_of(result, "data_type") == "int32"
    # address 0 does not overlap itself
    result = await step(
        hass,
        result,
        {"address": 0, "data_type": "uint32", "scale": 1, "offset": 0, "advanced": {}},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "row_changed"
    assert stored_rows(hass)["hr0"]["data_type"] == "uint32"
    assert result["description_placeholders"]["row"] == "HR 0 (40001) · sensor.existing · uint32"
    assert list(stored_rows(hass)) == ["hr0", "ir0"]  # same id, same place


async def start_row_change(hass: HomeAssistant, entry: MockConfigEntry, row_id: str) -> Any:
    """Change a row: the device's reconfigure menu, "change a row", the row picked."""
    result = await entry.start_subentry_reconfigure_flow(hass, DEVICE_ID)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["settings", "change_row", "delete_rows"]
    result = await step(hass, result, {"next_step_id": "change_row"})
    return await step(hass, result, {"row": row_id})


def section_values(result: Any, name: str) -> dict[str, Any]:
    """Defaults and suggested values of a collapsed section's fields."""
    for key, value in result["data_schema"].schema.items():
        if key == name:
            values: dict[str, Any] = {}
            for field in value.schema.schema:
                suggested = (field.description or {}).get("suggested_value")
                default = field.default() if callable(field.default) else None
                values[str(field)] = suggested if suggested is not None else default
            return values
    raise KeyError(name)


async def test_a_refused_row_keeps_everything_typed_and_the_stored_row(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    before = dict(stored_rows(hass)["hr0"])
    result = await start_row_change(hass, added, "hr0")
    result = await step(hass, result, {"entity_id": "sensor.existing"})
    result = await step(hass, result, {"area": "holding_register"})
    typed = {
        "address": 0,
        "data_type": "float32",
        "scale": 0.1,
        "offset": 5,
        "unit": "°C",
        "advanced": {"word_order": "little", "byte_order": "little", "unavailable_value": -1},
    }
    # a float32 at 65535 would need register 65536
    result = await step(hass, result, {**typed, "address": 65535})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"address": "invalid_address"}
    assert result["description_placeholders"]["address_error"]
    # Nothing typed is lost: the form comes back with the user's values ...
    for name in ("address", "data_type", "scale", "offset"):
        assert default_of(result, name) == {**typed, "address": 65535}[name], name
    unit = next(key for key in result["data_schema"].schema if key == "unit")
    assert unit.description == {"suggested_value": "°C"}
    assert section_values(result, "advanced") == {
        "word_order": "little",
        "byte_order": "little",
        "bit": None,
        "length": None,
        "unavailable_value": -1,
        "stale_after": None,
    }
    # ... and the stored row is untouched until a valid submit.
    assert dict(stored_rows(hass)["hr0"]) == before
    result = await step(hass, result, typed)
    assert result["reason"] == "row_changed"
    data = stored_rows(hass)["hr0"]
    assert (data["scale"], data["unit"], data["word_order"]) == (0.1, "°C", "little")


async def test_reconfigure_to_another_entity_and_area(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    result = await start_row_change(hass, added, "hr0")
    result = await step(hass, result, {"entity_id": "switch.pump"})
    result = await step(hass, result, {"area": "coil"})
    # a changed area resets type and address to the new area's defaults
    assert default_of(result, "address") == 0
    result = await step(hass, result, {"address": 5, "writable": True, "advanced": {}})
    assert result["reason"] == "row_changed"
    data = stored_rows(hass)["hr0"]
    assert (data["entity_id"], data["area"], data["data_type"]) == ("switch.pump", "coil", "bool")


async def test_reconfigure_owned_row(hass: HomeAssistant, added: MockConfigEntry) -> None:
    await add_row(hass, added, point_data("coil", 7, "bool", name="Alarm ack", writable=True))
    result = await start_row_change(hass, added, "added")
    assert result["step_id"] == "owned"
    assert default_of(result, "name") == "Alarm ack"
    result = await step(hass, result, {"name": "Ack", "area": "coil"})
    assert default_of(result, "address") == 7
    result = await step(hass, result, {"address": 8, "writable": False, "advanced": {}})
    assert result["reason"] == "row_changed"
    assert result["description_placeholders"]["row"] == "CO 8 (00009) · Ack · bool"


async def add_row(hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, Any]) -> None:
    """Append a row with id "added" to the device's table."""
    tables = await async_get_table_store(hass, entry.entry_id)
    await tables.async_set_rows(DEVICE_ID, [*tables.rows(DEVICE_ID), {**data, "id": "added"}])


# --- many rows ----------------------------------------------------------------------------------


async def test_add_many_assigns_consecutive_addresses_after_a_preview(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.a", "1")
    hass.states.async_set("sensor.b", "2")
    hass.states.async_set("switch.c", "on")
    server = loaded_entry.runtime_data.server
    known = set(stored_rows(hass))
    result = await start(hass, loaded_entry, "bulk")
    assert result["step_id"] == "user"
    result = await step(
        hass, result, {"entity_id": ["sensor.a", "sensor.b", "switch.c"], "writable": False}
    )
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"]["count"] == "3"
    table = result["description_placeholders"]["table"]
    # input registers: IR 0 is taken by an int16 -> float32 at 1..2 and 3..4
    assert "| IR 1 | 30002 | sensor.a | float32 | no |" in table
    assert "| IR 3 | 30004 | sensor.b | float32 | no |" in table
    assert "| DI 0 | 10001 | switch.c | bool | no |" in table
    result = await step(hass, result, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "points_added"
    assert result["description_placeholders"] == {"count": "3"}
    await hass.async_block_till_done()
    rows = stored_rows(hass)
    titles = sorted(point_title(point_from_data(rows[key])) for key in set(rows) - known)
    assert titles == [
        "DI 0 (10001) · switch.c · bool",
        "IR 1 (30002) · sensor.a · float32",
        "IR 3 (30004) · sensor.b · float32",
    ]
    # one swap picked up all three rows; the server was not restarted
    assert len(only_device(loaded_entry).register_map.points) == 5
    assert loaded_entry.runtime_data.server is server


async def test_add_many_prefers_writable_areas(hass: HomeAssistant, added: MockConfigEntry) -> None:
    result = await start(hass, added, "bulk")
    result = await step(hass, result, {"entity_id": ["switch.pump", "sensor.t"], "writable": True})
    table = result["description_placeholders"]["table"]
    assert "| CO 0 | 00001 | switch.pump | bool | yes |" in table
    # a sensor cannot be written: it still lands in a (read-only) register
    assert "sensor.t | float32 | no |" in table


async def test_add_many_refuses_unmappable_entities(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    result = await start(hass, added, "bulk")
    real = get_binding
    with patch(
        f"{PLANNING}.get_binding",
        side_effect=lambda domain: None if domain == "switch" else real(domain),
    ):
        result = await step(
            hass, result, {"entity_id": ["switch.pump", "sensor.t"], "writable": False}
        )
    assert result["errors"] == {"entity_id": "unsupported_entities"}
    assert result["description_placeholders"] == {"entities": "switch.pump"}


async def test_preview_is_truncated(hass: HomeAssistant, added: MockConfigEntry) -> None:
    entities = [f"sensor.s{i}" for i in range(55)]
    result = await start(hass, added, "bulk")
    result = await step(hass, result, {"entity_id": entities, "writable": False})
    assert "… 5 more" in result["description_placeholders"]["table"]


# --- import -------------------------------------------------------------------------------------


def _rows() -> list[Point]:
    return [
        Point(
            area=Area.HOLDING_REGISTER,
            address=10,
            data_type=_dt("float32"),
            source="sensor.boiler_temp",
            name="boiler",
        ),
        Point(
            area=Area.COIL, address=3, data_type=_dt("bool"), source="switch.pump", writable=True
        ),
        Point(
            area=Area.INPUT_REGISTER,
            address=20,
            data_type=_dt("uint16"),
            source="climate.living#current_humidity",
        ),
        Point(area=Area.HOLDING_REGISTER, address=30, data_type=_dt("int16"), name="owned"),
    ]


def _dt(name: str) -> Any:
    from custom_components.modbus_server.registermap import DataType  # noqa: PLC0415

    return DataType(name)


@pytest.mark.parametrize("exporter", [export_csv, export_json])
async def test_import_adds_every_row(
    hass: HomeAssistant, added: MockConfigEntry, exporter: Any
) -> None:
    known = set(stored_rows(hass))
    result = await start(hass, added, "import")
    result = await step(hass, result, {"text": exporter(_rows())})
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"]["count"] == "4"
    result = await step(hass, result, {})
    assert result["reason"] == "points_added"
    rows = stored_rows(hass)
    new = {point_title(point_from_data(rows[key])): rows[key] for key in set(rows) - known}
    assert set(new) == {
        "HR 10 (40011) · sensor.boiler_temp · float32",
        "CO 3 (00004) · switch.pump · bool",
        "IR 20 (30021) · climate.living#current_humidity · uint16",
        "HR 30 (40031) · owned · int16",
    }
    humidity = new["IR 20 (30021) · climate.living#current_humidity · uint16"]
    assert (humidity["entity_id"], humidity["attribute"]) == ("climate.living", "current_humidity")


async def test_import_reads_stale_after_and_write_mode(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    """A JSON export with row settings, and a CSV without the columns (an older export)."""
    pump, boiler = _rows()[1], _rows()[0]
    settings = {"p": {"write_mode": "on_change"}, "b": {"stale_after": 12.5}}
    text = export_json([replace(pump, key="p"), replace(boiler, key="b")], settings)
    known = set(stored_rows(hass))
    result = await start(hass, added, "import")
    result = await step(hass, await step(hass, result, {"text": text}), {})
    assert result["reason"] == "points_added"
    new = {row["entity_id"]: row for key, row in stored_rows(hass).items() if key not in known}
    assert new["switch.pump"]["write_mode"] == "on_change"
    assert "stale_after" not in new["switch.pump"]
    assert new["sensor.boiler_temp"]["stale_after"] == 12.5

    known = set(stored_rows(hass))
    result = await start(hass, added, "import")
    text = "area,address,data_type,source\ninput_register,40,uint16,sensor.boiler_temp\n"
    result = await step(hass, await step(hass, result, {"text": text}), {})
    assert result["reason"] == "points_added"
    (row,) = (row for key, row in stored_rows(hass).items() if key not in known)
    assert "stale_after" not in row
    assert "write_mode" not in row


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("area,address,data_type\ncoil,notanumber,bool\n", "line 2"),
        ('{"points": [}', "line 1"),
        ("area,address,data_type\n", "no rows"),
        (
            "area,address,data_type,source\nholding_register,0,int16,sensor.a\n",
            "overlaps",
        ),
        (
            "area,address,data_type,source\ncoil,50,bool,sensor.a\n",
            "cannot be served as coil",
        ),
        (
            "area,address,data_type,source,writable\nholding_register,50,int16,sensor.a,true\n",
            "cannot become a service call",
        ),
        (
            "area,address,data_type,source\nholding_register,50,int16,nodomain.a\n",
            "domain not supported",
        ),
        (
            "area,address,data_type,length,name\nholding_register,50,string,4,label\n",
            "cannot be text",
        ),
        (
            "area,address,data_type,source,stale_after\n"
            "holding_register,50,int16,sensor.a,10\n"
            "holding_register,51,int16,sensor.b,-5\n",
            "line 3: stale_after: expected seconds from 0 to 86400",
        ),
        (
            "area,address,data_type,name,stale_after\nholding_register,50,int16,owned,10\n",
            "line 2: stale_after: an owned row has no source",
        ),
        (
            "area,address,data_type,source,write_mode\n"
            "holding_register,50,int16,sensor.a,sometimes\n",
            "line 2: write_mode: expected one of default, always, on_change",
        ),
        (
            '{"points": [\n{"area": "coil", "address": 50, "data_type": "bool",\n'
            '"source": "switch.pump", "writable": true, "write_mode": 7}]}',
            "line 2: write_mode",
        ),
    ],
)
async def test_import_is_all_or_nothing(
    hass: HomeAssistant, added: MockConfigEntry, text: str, expected: str
) -> None:
    known = set(stored_rows(hass))
    result = await start(hass, added, "import")
    result = await step(hass, result, {"text": text})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"text": "import_invalid"}
    assert expected in result["description_placeholders"]["details"]
    assert set(stored_rows(hass)) == known


# --- pure helpers -------------------------------------------------------------------------------


def test_field_errors_map_unknown_fields_to_base_and_keep_the_first_per_target() -> None:
    from custom_components.modbus_server.planning import field_errors  # noqa: PLC0415
    from custom_components.modbus_server.registermap import FieldError  # noqa: PLC0415

    errors, placeholders = field_errors(
        [
            FieldError("area", "unknown area"),
            FieldError("length", "needs a length"),
            FieldError("unavailable_value", "must be text"),
        ]
    )
    assert errors == {"base": "invalid_base", "advanced": "invalid_length"}
    assert placeholders == {"base_error": "unknown area", "length_error": "needs a length"}


def test_pick_area_falls_back_to_the_first_area() -> None:
    from custom_components.modbus_server.planning import pick_area  # noqa: PLC0415

    binding = _OneArea([Area.COIL, Area.HOLDING_REGISTER])
    assert pick_area(binding, [Area.COIL, Area.HOLDING_REGISTER], False) is Area.COIL  # type: ignore[arg-type]
    assert pick_area(binding, [Area.HOLDING_REGISTER, Area.INPUT_REGISTER], True) is (  # type: ignore[arg-type]
        Area.INPUT_REGISTER
    )


async def test_a_refused_import_keeps_the_text_and_lists_the_problems(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    """The pasted text stays in the field; the problems are a Markdown list, one per line."""
    result = await start(hass, added, "import")
    assert result["description_placeholders"] == {"details": ""}
    lines = [f"coil,bad{n},bool" for n in range(12)]
    text = "area,address,data_type\n" + "\n".join(lines) + "\n"
    result = await step(hass, result, {"text": text})
    assert result["errors"] == {"text": "import_invalid"}
    details = result["description_placeholders"]["details"]
    assert details.startswith("\n\n- line 2: ")
    assert details.count("\n- ") == 11  # ten problems, then how many more
    assert details.endswith("- … 2 more")
    (key,) = result["data_schema"].schema
    assert key.description == {"suggested_value": text}


def test_only_overlaps_are_reworded() -> None:
    from custom_components.modbus_server.planning import explain_overlap  # noqa: PLC0415
    from custom_components.modbus_server.registermap import FieldError  # noqa: PLC0415

    point = Point(area=Area.HOLDING_REGISTER, address=0, data_type=_dt("bit"), bit=1)
    mismatch = FieldError("writable", "bit points of one register ...", 1, "", 0)
    assert explain_overlap(mismatch, [point], point) is mismatch
    plain = FieldError("address", "out of range", 1)
    assert explain_overlap(plain, [point], point) is plain


def _collapsed(result: Any) -> bool:
    return bool(result["data_schema"].schema["advanced"].options["collapsed"])


async def test_advanced_section_opens_when_it_needs_attention(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    """Collapsed for a plain number; open on an error inside it or for bit/string types."""
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "sensor.boiler_temp"})
    result = await step(hass, result, {"area": "holding_register"})
    assert _collapsed(result)
    base = {"address": 20, "scale": 1, "offset": 0}
    # a bit without its bit number: the error sits in the section, which opens
    result = await step(hass, result, {**base, "data_type": "bit", "advanced": {}})
    assert result["errors"] == {"advanced": "invalid_bit"}
    assert not _collapsed(result)
    # an error outside the section, but the type is a string: open for its length
    result = await step(
        hass, result, {**base, "scale": 0, "data_type": "string", "advanced": {"length": 4}}
    )
    assert result["errors"] == {"scale": "invalid_scale"}
    assert not _collapsed(result)
    # back to a plain type with an error elsewhere: collapsed again
    result = await step(hass, result, {**base, "scale": 0, "data_type": "int16", "advanced": {}})
    assert result["errors"] == {"scale": "invalid_scale"}
    assert _collapsed(result)


@pytest.mark.parametrize(
    ("entity_id", "attribute", "expected"),
    [
        ("switch.pump", None, "coil"),
        ("climate.living", "temperature", "holding_register"),
        ("climate.living", "current_temperature", "input_register"),
    ],
)
async def test_area_step_preselects_a_writable_area_only_for_writable_values(
    hass: HomeAssistant,
    added: MockConfigEntry,
    entity_id: str,
    attribute: str | None,
    expected: str,
) -> None:
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": entity_id})
    if attribute is not None:
        result = await step(hass, result, {"attribute": attribute})
    assert result["step_id"] == "area"
    assert default_of(result, "area") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "area,address,data_type,source\nholding_register,0,int16,sensor.a\n",
            "the existing row HR 0 (40001) · sensor.existing · int32: "
            "overlaps row 1 (HR 0 (40001) · sensor.a · int16)",
        ),
        (
            "area,address,data_type,source\ninput_register,1,int16,sensor.a\n"
            "input_register,0,int16,sensor.b\n",
            "row 2 (IR 0 (30001) · sensor.b · int16): "
            "overlaps the existing row IR 0 (30001) · sensor.x · int16",
        ),
        (
            "area,address,data_type,source\nholding_register,50,int16,nodomain.a\n",
            "row 1 (HR 50 (40051) · nodomain.a · int16): nodomain.a: domain not supported",
        ),
    ],
)
async def test_import_problems_name_rows_by_number_and_title(
    hass: HomeAssistant, added: MockConfigEntry, text: str, expected: str
) -> None:
    result = await start(hass, added, "import")
    result = await step(hass, result, {"text": text})
    assert result["description_placeholders"]["details"] == f"\n\n- {expected}"


async def test_import_map_errors_other_than_overlaps_keep_their_field(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    bit = point_data("holding_register", 50, "bit", name="a", bit=0, writable=True)
    await add_row(hass, added, bit)
    text = "name,area,address,data_type,bit,writable\nb,holding_register,50,bit,1,false\n"
    result = await start(hass, added, "import")
    result = await step(hass, result, {"text": text})
    details = result["description_placeholders"]["details"]
    assert "row 1 (HR 50.1 (40051) · b · bit): writable: " in details


async def test_attribute_and_area_steps_say_which_value(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    """The attribute step shows the current values; the area step names the attribute."""
    hass.states.async_set(
        "climate.living", "heat", {"hvac_modes": ["off", "heat"], "temperature": 21.5}
    )
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "climate.living"})
    assert result["description_placeholders"] == {
        "entity_id": "climate.living",
        "values": "state = heat, temperature = 21.5",
    }
    result = await step(hass, result, {"attribute": "temperature"})
    assert result["description_placeholders"] == {"entity_id": "climate.living#temperature"}


async def test_attribute_step_of_an_entity_without_state(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "climate.gone"})
    assert result["step_id"] == "attribute"
    assert result["description_placeholders"]["values"] == "-"


# --- safety-relevant entities, data types from the state, large tables -------------------------


@pytest.fixture
def doors(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> None:
    """A lock, an alarm panel, covers that open the building and a blind (not safety-relevant)."""
    hass.states.async_set("lock.front_door", "locked")
    hass.states.async_set("alarm_control_panel.house", "armed_away")
    hass.states.async_set("cover.garage", "closed", {"device_class": "garage"})
    # the gate's class is known from the entity registry only (its state is not there yet)
    entity_registry.async_get_or_create(
        "cover", "demo", "gate", suggested_object_id="gate", original_device_class="gate"
    )
    hass.states.async_set("cover.blind", "open", {"device_class": "blind"})


@pytest.mark.usefixtures("doors")
async def test_add_many_keeps_locks_and_doors_read_only_when_writable_is_preferred(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    entities = [
        "lock.front_door",
        "alarm_control_panel.house",
        "cover.garage",
        "cover.gate",
        "cover.blind",
        "switch.pump",
    ]
    result = await start(hass, added, "bulk")
    result = await step(hass, result, {"entity_id": entities, "writable": True})
    table = result["description_placeholders"]["table"]
    assert "| DI 0 | 10001 | lock.front_door | bool | no ⚠ |" in table
    assert "| DI 1 | 10002 | alarm_control_panel.house | bool | no ⚠ |" in table
    assert "| DI 2 | 10003 | cover.garage | bool | no ⚠ |" in table
    assert "| DI 3 | 10004 | cover.gate | bool | no ⚠ |" in table
    assert "⚠ Locks, alarm panels and garage doors, gates and doors stay read-only" in table
    assert "| CO 0 | 00001 | cover.blind | bool | yes |" in table
    assert "| CO 1 | 00002 | switch.pump | bool | yes |" in table


@pytest.mark.usefixtures("doors")
async def test_a_lock_row_is_writable_only_when_switched_on_in_the_row_form(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "lock.front_door"})
    assert result["step_id"] == "area"
    assert default_of(result, "area") == "discrete_input"
    result = await step(hass, result, {"area": "coil"})
    # a coil can be written, but the toggle starts off: the user switches it on, row by row
    assert default_of(result, "writable") is False
    result = await step(hass, result, {"address": 0, "writable": True, "advanced": {}})
    assert result["type"] is FlowResultType.ABORT
    assert [
        r["writable"] for r in stored_rows(hass).values() if r["entity_id"] == "lock.front_door"
    ] == [True]


async def test_an_ordinary_switch_row_still_starts_writable(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "switch.pump"})
    result = await step(hass, result, {"area": "coil"})
    assert default_of(result, "writable") is True


async def test_a_timestamp_sensor_defaults_to_uint32_in_both_flows(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    """float32 would round epoch seconds to about two minutes."""
    hass.states.async_set(
        "sensor.last_boot", "2026-01-01T00:00:00+00:00", {"device_class": "timestamp"}
    )
    result = await start(hass, added, "point")
    result = await step(hass, result, {"next_step_id": "entity"})
    result = await step(hass, result, {"entity_id": "sensor.last_boot"})
    result = await step(hass, result, {"area": "input_register"})
    assert default_of(result, "data_type") == "uint32"

    result = await start(hass, added, "bulk")
    result = await step(
        hass, result, {"entity_id": ["sensor.last_boot", "sensor.boiler_temp"], "writable": False}
    )
    table = result["description_placeholders"]["table"]
    assert "| sensor.last_boot | uint32 |" in table
    assert "| sensor.boiler_temp | float32 |" in table


async def test_a_timestamp_sensor_known_only_to_the_registry_defaults_to_uint32(
    hass: HomeAssistant, added: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """No state yet (its integration not loaded): the registry's device class decides."""
    entity_registry.async_get_or_create(
        "sensor", "demo", "boot", suggested_object_id="boot", original_device_class="timestamp"
    )
    result = await start(hass, added, "bulk")
    result = await step(hass, result, {"entity_id": ["sensor.boot"], "writable": False})
    assert "| sensor.boot | uint32 |" in result["description_placeholders"]["table"]


async def test_add_many_compiles_the_existing_table_once(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    """Planning is linear: it used to compile the whole table again for every entity."""
    entities = [f"sensor.s{index}" for index in range(40)]
    result = await start(hass, added, "bulk")
    with patch(f"{PLANNING}.RegisterMap", wraps=RegisterMap) as compiled:
        result = await step(hass, result, {"entity_id": entities, "writable": False})
    assert compiled.call_count == 1
    # consecutive after IR 0 (an int16): 1..2, 3..4, ...
    table = result["description_placeholders"]["table"]
    assert "| IR 1 | 30002 | sensor.s0 | float32 | no |" in table
    assert "| IR 49 | 30050 | sensor.s24 | float32 | no |" in table


async def test_an_import_over_the_size_limit_is_refused_and_says_the_limit(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    text = "area,address,data_type\n" + "coil,0,bool\n" * 400_000
    result = await start(hass, added, "import")
    result = await step(hass, result, {"text": text})
    assert result["errors"] == {"text": "import_too_large"}
    assert result["description_placeholders"]["size"] == f"{len(text):,}"
    assert result["description_placeholders"]["max_size"] == "4,000,000"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "line 1: invalid JSON: nested too deeply"),
        ('[{"area": "coil", "address": ' + "1" * 5000 + "}]", "line 1: invalid JSON: Exceeds"),
    ],
    ids=["deep", "long-integer"],
)
async def test_hostile_json_is_an_import_problem_not_an_unknown_error(
    hass: HomeAssistant, added: MockConfigEntry, text: str, expected: str
) -> None:
    result = await start(hass, added, "import")
    result = await step(hass, result, {"text": text})
    assert result["errors"] == {"text": "import_invalid"}
    assert result["description_placeholders"]["details"].startswith(f"\n\n- {expected}")


async def test_an_import_is_parsed_off_the_event_loop(
    hass: HomeAssistant, added: MockConfigEntry
) -> None:
    """20 000 CSV rows parse in about a second: not on the loop that runs Home Assistant."""
    from custom_components.modbus_server.registermap import (  # noqa: PLC0415
        ImportedRow,
        import_csv_rows,
    )

    threads: list[str] = []

    def parse(text: str, read_settings: Any) -> list[ImportedRow]:
        threads.append(threading.current_thread().name)
        return import_csv_rows(text, read_settings)

    result = await start(hass, added, "import")
    with patch(f"{PLANNING}.import_csv_rows", side_effect=parse):
        result = await step(hass, result, {"text": export_csv(_rows())})
    assert result["step_id"] == "confirm"
    assert threads
    assert threads[0] != threading.main_thread().name
