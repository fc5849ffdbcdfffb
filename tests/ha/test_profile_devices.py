"""Profile devices in Home Assistant: slot entities feed a generated table over a real socket.

Values are decoded from Eastron's and Carlo Gavazzi's published maps (addresses written here,
not imported from the profiles): SDM630 FC04 float32 high word first (0x0034 total system
power W, 0x0000 phase 1 volts, 0x0048 total import kWh); EM24 32-bit values low word first,
0xA000 the application register a Victron GX writes 7 to.
"""

from __future__ import annotations

from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ExceptionResponse
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.panel import source
from custom_components.modbus_server.profiles import PROFILES
from tests.profiles.helpers import f32_abcd

from .conftest import DEVICE_ID, async_set_up, tcp_client, v2_entry

pytestmark = pytest.mark.usefixtures("socket_enabled")

SDM630 = {
    "profile": "eastron_sdm630",
    "preset": None,
    "slots": {
        "power": "sensor.grid_power",
        "voltage_l1": "sensor.grid_voltage",
        "energy_import": "sensor.grid_import",
    },
    "sign": "import_positive",
}


@pytest.fixture
def entry(hass: HomeAssistant, hass_storage: dict[str, Any], port: int) -> MockConfigEntry:
    """An SDM630 profile device on unit 3 fed by three sensors in kW, V and kWh."""
    hass.states.async_set("sensor.grid_power", "1.5", {"unit_of_measurement": "kW"})
    hass.states.async_set("sensor.grid_voltage", "231.5", {"unit_of_measurement": "V"})
    hass.states.async_set("sensor.grid_import", "1234.5", {"unit_of_measurement": "kWh"})
    return v2_entry(hass_storage, port, [], unit_ids=[3], **SDM630)


@pytest.fixture
def meter(loaded_entry: MockConfigEntry) -> MockConfigEntry:
    """`entry` running (conftest's `loaded_entry`; `client` is connected to it)."""
    return loaded_entry


async def read_f32(client: AsyncModbusTcpClient, address: int, unit: int = 3) -> float:
    answer = await client.read_input_registers(address, count=2, device_id=unit)
    assert not answer.isError(), answer
    return f32_abcd(answer.registers, 0)


async def test_values_follow_the_entities_converted_from_their_units(
    hass: HomeAssistant, client: AsyncModbusTcpClient
) -> None:
    assert await read_f32(client, 0x0034) == pytest.approx(1500.0)  # 1.5 kW -> W
    assert await read_f32(client, 0x0000) == pytest.approx(231.5)
    assert await read_f32(client, 0x0048) == pytest.approx(1234.5)  # kWh on the wire
    hass.states.async_set("sensor.grid_power", "-0.25", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done()
    assert await read_f32(client, 0x0034) == pytest.approx(-250.0)  # one state change later
    # other unit ids are not this device's
    other = await client.read_input_registers(0x0034, count=2, device_id=1)
    assert isinstance(other, ExceptionResponse)


async def test_energy_never_goes_backwards_and_unavailable_power_is_a_fault(
    hass: HomeAssistant, client: AsyncModbusTcpClient
) -> None:
    hass.states.async_set("sensor.grid_import", "0", {"unit_of_measurement": "kWh"})  # reset
    await hass.async_block_till_done()
    assert await read_f32(client, 0x0048) == pytest.approx(1234.5)
    hass.states.async_set("sensor.grid_import", "0.5", {"unit_of_measurement": "kWh"})
    await hass.async_block_till_done()
    assert await read_f32(client, 0x0048) == pytest.approx(1235.0)  # counts on from the reset
    hass.states.async_set("sensor.grid_power", "unavailable")
    await hass.async_block_till_done()
    answer = await client.read_input_registers(0x0034, count=2, device_id=3)
    assert isinstance(answer, ExceptionResponse)
    assert answer.exception_code == 4  # ServerDeviceFailure, not the last value
    # the energy total still answers (a block without power in it)
    assert await read_f32(client, 0x0048) == pytest.approx(1235.0)


async def test_a_source_older_than_the_default_max_age_reads_as_a_fault(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, client: AsyncModbusTcpClient
) -> None:
    # freezer first: the states are set on the frozen clock
    assert await read_f32(client, 0x0034) == pytest.approx(1500.0)
    freezer.tick(61)  # profiles default to 60 s
    answer = await client.read_input_registers(0x0034, count=2, device_id=3)
    assert isinstance(answer, ExceptionResponse)
    assert answer.exception_code == 4
    hass.states.async_set(
        "sensor.grid_power", "1.5", {"unit_of_measurement": "kW"}, force_update=True
    )
    await hass.async_block_till_done()
    assert await read_f32(client, 0x0034) == pytest.approx(1500.0)


async def test_export_positive_sources_are_negated(
    hass: HomeAssistant, meter: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    subentry = meter.subentries[DEVICE_ID]
    hass.config_entries.async_update_subentry(
        meter, subentry, data={**subentry.data, "sign": "export_positive"}
    )
    await hass.async_block_till_done()
    assert await read_f32(client, 0x0034) == pytest.approx(-1500.0)


async def test_changing_a_slot_swaps_live_on_the_same_connection(
    hass: HomeAssistant, meter: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    hass.states.async_set("sensor.house_power", "700", {"unit_of_measurement": "W"})
    assert await read_f32(client, 0x0034) == pytest.approx(1500.0)
    subentry = meter.subentries[DEVICE_ID]
    slots = {**subentry.data["slots"], "power": "sensor.house_power"}
    hass.config_entries.async_update_subentry(
        meter, subentry, data={**subentry.data, "slots": slots}
    )
    await hass.async_block_till_done()
    assert client.connected
    assert await read_f32(client, 0x0034) == pytest.approx(700.0)
    hass.states.async_set("sensor.grid_power", "9", {"unit_of_measurement": "kW"})
    hass.states.async_set("sensor.house_power", "800", {"unit_of_measurement": "W"})
    await hass.async_block_till_done()
    assert await read_f32(client, 0x0034) == pytest.approx(800.0)


async def test_em24_keeps_the_application_write_across_a_live_edit(
    hass: HomeAssistant, hass_storage: dict[str, Any], port: int
) -> None:
    hass.states.async_set("sensor.grid_power", "2000", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.l1_power", "500", {"unit_of_measurement": "W"})
    data = {"profile": "carlo_gavazzi_em24", "preset": "victron_gx"}
    entry = v2_entry(
        hass_storage, port, [], unit_ids=[1], slots={"power": "sensor.grid_power"}, **data
    )
    await async_set_up(hass, entry)
    async with tcp_client(port) as modbus:
        model = await modbus.read_holding_registers(0x000B, count=1, device_id=1)
        assert model.registers == [1648]
        written = await modbus.write_register(0xA000, 7, device_id=1)
        assert not written.isError()
        refused = await modbus.write_register(0x0028, 1, device_id=1)  # a measurement
        assert isinstance(refused, ExceptionResponse)
        subentry = entry.subentries[DEVICE_ID]
        slots = {"power": "sensor.grid_power", "power_l1": "sensor.l1_power"}
        hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, "slots": slots}
        )
        await hass.async_block_till_done()
        app = await modbus.read_holding_registers(0xA000, count=1, device_id=1)
        assert app.registers == [7]
        # 0x0028 system W, INT32 low word first, 0.1 W: 2000 W -> 20000 = 0x4E20
        power = await modbus.read_holding_registers(0x0028, count=2, device_id=1)
        assert power.registers == [0x4E20, 0]
        l1 = await modbus.read_holding_registers(0x0012, count=2, device_id=1)
        assert l1.registers == [5000, 0]  # phase 1 W, 500 W in 0.1 W
    await hass.config_entries.async_unload(entry.entry_id)


async def flow_step(hass: HomeAssistant, result: Any, user_input: dict[str, Any]) -> Any:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)


async def test_add_and_reconfigure_a_profile_device_through_the_flow(
    hass: HomeAssistant, hass_storage: dict[str, Any], port: int
) -> None:
    hass.states.async_set("sensor.grid_power", "1200", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.house_power", "0.3", {"unit_of_measurement": "kW"})
    hass.states.async_set("sensor.temperature", "20", {"unit_of_measurement": "°C"})
    entry = v2_entry(hass_storage, port, [], unit_ids=[1])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "device"), context={"source": "user"}
    )
    assert result["menu_options"] == ["blank", "profile"]
    result = await flow_step(hass, result, {"next_step_id": "profile"})
    result = await flow_step(hass, result, {"profile": "eastron_sdm630"})
    assert result["step_id"] == "profile_preset"
    result = await flow_step(hass, result, {"preset": "growatt"})
    assert result["step_id"] == "profile_slots"
    # an entity in a unit the slot cannot take: an error on that field, nothing lost
    result = await flow_step(hass, result, {"power": "sensor.temperature"})
    assert result["errors"] == {"power": "unit_not_accepted"}
    result = await flow_step(hass, result, {"power": "sensor.grid_power"})
    assert result["step_id"] == "profile_settings"
    schema = {str(key): key for key in result["data_schema"].schema}
    assert schema["unit_ids"].default() == "2"  # the Growatt preset's unit id
    assert schema["stale_after"].default() == 60  # on by default
    # unit 1 is the existing device's
    taken = {"name": "Grid meter", "unit_ids": "1", "sign": "import_positive"}
    result = await flow_step(hass, result, {**taken, "invert_power": False, "stale_after": 60})
    assert result["errors"] == {"unit_ids": "unit_id_taken"}
    result = await flow_step(
        hass, result, {**taken, "unit_ids": "2", "invert_power": False, "stale_after": 60}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    async with tcp_client(port) as modbus:
        assert await read_f32(modbus, 0x0034, unit=2) == pytest.approx(1200.0)
        meter = next(s for s in entry.subentries.values() if s.title == "Grid meter")
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, "device"),
            context={"source": "reconfigure", "subentry_id": meter.subentry_id},
        )
        assert result["step_id"] == "profile_slots"
        result = await flow_step(hass, result, {"power": "sensor.house_power"})
        result = await flow_step(
            hass,
            result,
            {
                **taken,
                "unit_ids": "2",
                "sign": "export_positive",
                "invert_power": False,
                "stale_after": 0,
            },
        )
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert modbus.connected
        assert await read_f32(modbus, 0x0034, unit=2) == pytest.approx(-300.0)  # kW, negated
    await hass.config_entries.async_unload(entry.entry_id)


async def test_the_table_view_shows_the_generated_rows_with_live_values(
    hass: HomeAssistant, meter: MockConfigEntry
) -> None:
    points = source.device_rows(meter, DEVICE_ID)
    by_name = {point.name: point for point in points if str(point.area) == "input_register"}
    assert by_name["power"].source == "sensor.grid_power"
    assert "reserved" not in by_name  # gaps are not rows
    assert by_name["voltage_l2"].source == "voltage_l2 · not bound"
    values = source.row_values(meter, [by_name["power"]])
    assert values[by_name["power"].key].value == pytest.approx(1500.0)
    hass.states.async_set("sensor.grid_power", "2", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done()
    values = source.row_values(meter, [by_name["power"]])
    assert values[by_name["power"].key].value == pytest.approx(2000.0)
    # not editable: the rows are the profile's, not stored ones
    assert source.find_row(meter, DEVICE_ID, by_name["power"].key) is None


async def table_rows(ws: Any, entry: MockConfigEntry) -> dict[str, Any]:
    """The table view's `rows` reply for the entry's device (asserted successful)."""
    device = {"entry_id": entry.entry_id, "device_id": DEVICE_ID}
    await ws.send_json_auto_id({"type": "modbus_server/table/rows", **device})
    reply = await ws.receive_json()
    assert reply["success"], reply
    return dict(reply)


async def test_the_table_view_offers_no_editing_of_a_profile_devices_rows(
    hass: HomeAssistant, meter: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    reply = await table_rows(await hass_ws_client(hass), meter)
    assert reply["result"]["rows"]
    # the panel hides the select boxes, the editor and "Delete selected" for these rows
    assert reply["result"]["editable"] is False


async def test_the_table_view_reports_an_unbound_slot_as_not_bound_not_unavailable(
    hass: HomeAssistant, meter: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """An unbound slot serves the profile's missing value: raw cells, no engineering value."""
    ws = await hass_ws_client(hass)
    result = (await table_rows(ws, meter))["result"]
    fields = result["fields"]
    rows = {
        row[fields.index("name")]: row[0]
        for row in result["rows"]
        if row[fields.index("area")] == "input_register"
    }
    cells, value, error, not_bound = result["values"][rows["voltage_l2"]]
    assert (value, error, not_bound) == (None, None, True)
    assert cells == [0, 0]  # what a client reads there: the SDM630 profile's missing value
    cells, value, error, not_bound = result["values"][rows["power"]]
    assert (value, error, not_bound) == (pytest.approx(1500.0), None, False)
    # a bound slot whose entity is unavailable stays unavailable, with the fault clients get
    hass.states.async_set("sensor.grid_power", "unavailable")
    await hass.async_block_till_done()
    values = (await table_rows(ws, meter))["result"]["values"]
    assert values[rows["power"]] == [None, None, "ServerDeviceFailure", False]


@pytest.mark.parametrize("key", sorted(PROFILES))
async def test_every_profile_can_be_created_in_the_flow_and_answers(
    hass: HomeAssistant, hass_storage: dict[str, Any], port: int, key: str
) -> None:
    """Each profile through the UI steps (its first preset, where it has some), then read."""
    profile = PROFILES[key]
    hass.states.async_set("sensor.grid_power", "1200", {"unit_of_measurement": "W"})
    entry = v2_entry(hass_storage, port, [], unit_ids=[200])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "device"), context={"source": "user"}
    )
    result = await flow_step(hass, result, {"next_step_id": "profile"})
    result = await flow_step(hass, result, {"profile": key})
    if profile.presets:
        result = await flow_step(hass, result, {"preset": profile.presets[0].key})
    result = await flow_step(hass, result, {"power": "sensor.grid_power"})
    unit = profile.presets[0].unit_id if profile.presets else profile.unit_id
    schema = {str(k): k for k in result["data_schema"].schema}
    assert schema["unit_ids"].default() == str(unit)
    result = await flow_step(
        hass,
        result,
        {
            "name": "Meter",
            "unit_ids": str(unit),
            "sign": "import_positive",
            "invert_power": False,
            "stale_after": 60,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    first, last = profile.ranges[0]
    count = min(2, last - first + 1)  # DTSU666-H: 0x07D1 is a block of one
    async with tcp_client(port) as modbus:
        if Area.HOLDING_REGISTER in profile.areas:
            answer = await modbus.read_holding_registers(first, count=count, device_id=unit)
        else:
            answer = await modbus.read_input_registers(first, count=count, device_id=unit)
        assert not answer.isError(), answer
    await hass.config_entries.async_unload(entry.entry_id)
