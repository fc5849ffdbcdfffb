"""Staleness: a source that stops reporting reads as unavailable, over a real Modbus client.

Time is frozen (`freezer`) and moved by hand; `async_fire_time_changed_exact` runs the timers
that are due, so nothing depends on the wall clock.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.event import async_track_state_report_event
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed_exact,
)

from custom_components.modbus_server.bridge import Bridge
from custom_components.modbus_server.diagnostics import async_get_config_entry_diagnostics
from custom_components.modbus_server.modbus import Area, Server
from custom_components.modbus_server.owned import OwnedStore
from custom_components.modbus_server.registermap import RegisterMap
from custom_components.modbus_server.runtime import DeviceRuntime, DeviceSettings, ServerRuntime
from custom_components.modbus_server.staleness import max_age
from custom_components.modbus_server.table_store import ROW_ID

from .bridge_helpers import point, read_value
from .conftest import point_data, point_subentry, server_data, stored_rows, v2_entry

pytestmark = pytest.mark.usefixtures("socket_enabled")

INT16_UNAVAILABLE = 0x8000  # the int16 type's default while unavailable


def row(row_id: str, area: str, address: int, data_type: str, **data: Any) -> dict[str, Any]:
    return {**point_data(area, address, data_type, **data), ROW_ID: row_id}


def meter_rows(**row_stale_after: float | None) -> list[dict[str, Any]]:
    """HR 0..3 int16 from sensor.a..d, DI 0 from binary_sensor.e; `a=60` sets a row's override."""
    rows = [
        row(name, "holding_register", index, "int16", entity_id=f"sensor.{name}")
        for index, name in enumerate("abcd")
    ]
    rows.append(row("e", "discrete_input", 0, "bool", entity_id="binary_sensor.e"))
    for row_data in rows:
        if row_data[ROW_ID] in row_stale_after:
            row_data["stale_after"] = row_stale_after[row_data[ROW_ID]]
    return rows


@pytest.fixture
async def serve(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> AsyncGenerator[Callable[..., Any]]:
    """Start a server with one device of `rows`; returns a connected pymodbus client."""
    for name, value in zip("abcd", ("1", "2", "3", "4"), strict=True):
        hass.states.async_set(f"sensor.{name}", value)
    hass.states.async_set("binary_sensor.e", "on")
    started: list[tuple[ServerRuntime, Server, AsyncModbusTcpClient]] = []

    async def start(rows: list[dict[str, Any]], **device: Any) -> AsyncModbusTcpClient:
        server = Server(host="127.0.0.1", port=0)
        runtime = ServerRuntime(server)
        settings = DeviceSettings.from_data("meter", {"unit_ids": [1], **device}, revision="1")
        runtime.async_set_device(DeviceRuntime(hass, settings, rows))
        await server.start()
        client = AsyncModbusTcpClient("127.0.0.1", port=server.port, retries=0, timeout=3)
        assert await client.connect()
        started.append((runtime, server, client))
        return client

    yield start
    for runtime, server, client in started:
        client.close()
        runtime.async_stop()
        await server.stop()


def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move the frozen clock and run the timers that are due now."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed_exact(hass)


async def registers(client: AsyncModbusTcpClient, count: int = 4) -> list[int]:
    response = await client.read_holding_registers(0, count=count, device_id=1)
    assert not response.isError(), response
    return list(response.registers)


async def discrete_input(client: AsyncModbusTcpClient) -> bool | int:
    """DI 0, or the exception code the device answered."""
    response = await client.read_discrete_inputs(0, count=1, device_id=1)
    return int(response.exception_code) if response.isError() else bool(response.bits[0])


async def test_a_source_that_stops_reporting_reads_unavailable_after_its_max_age(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    rows = meter_rows()
    rows[1]["unavailable_value"] = -1  # sensor.b: the row's own unavailable value
    client = await serve(rows, stale_after=10)
    advance(hass, freezer, 9)
    assert await registers(client) == [1, 2, 3, 4]
    assert await discrete_input(client) is True
    advance(hass, freezer, 1)
    unavailable = INT16_UNAVAILABLE
    assert await registers(client) == [unavailable, 0xFFFF, unavailable, unavailable]
    assert await discrete_input(client) == 0x04  # a bit without an unavailable value


async def test_a_same_value_report_makes_the_source_fresh_and_restarts_its_max_age(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    reported: list[str] = []
    async_track_state_report_event(
        hass,
        ["sensor.a", "binary_sensor.e"],
        lambda event: reported.append(event.data["entity_id"]),
    )
    client = await serve(meter_rows(), stale_after=10)
    advance(hass, freezer, 10)
    assert (await registers(client))[0] == INT16_UNAVAILABLE
    hass.states.async_set("sensor.a", "1", force_update=False)  # same value: no state_changed
    hass.states.async_set("binary_sensor.e", "on")
    await hass.async_block_till_done()
    assert sorted(reported) == ["binary_sensor.e", "sensor.a"]  # same value: not state_changed
    assert await registers(client) == [1] + [INT16_UNAVAILABLE] * 3
    assert await discrete_input(client) is True
    advance(hass, freezer, 9)
    assert (await registers(client))[0] == 1
    advance(hass, freezer, 1)
    assert (await registers(client))[0] == INT16_UNAVAILABLE
    assert await discrete_input(client) == 0x04


async def test_a_source_reporting_within_its_max_age_never_goes_stale(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    client = await serve(meter_rows(), stale_after=10)
    for second in range(1, 60):
        advance(hass, freezer, 1)
        # sensor.a changes every 7 s, sensor.b is re-reported with its value every 9 s
        if second % 7 == 0:
            hass.states.async_set("sensor.a", str(second))
        if second % 9 == 0:
            hass.states.async_set("sensor.b", "2")
        values = await registers(client, 3)
        assert INT16_UNAVAILABLE not in values[:2], (second, values)
    assert values[2] == INT16_UNAVAILABLE  # sensor.c, silent all along, did go stale


async def test_a_row_override_wins_over_the_device_default_and_0_means_never(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    # a: 60 s, b: inherits 10 s, c: never, d: 5 s
    client = await serve(meter_rows(a=60, b=None, c=0, d=5), stale_after=10)
    advance(hass, freezer, 5)
    assert await registers(client) == [1, 2, 3, INT16_UNAVAILABLE]
    advance(hass, freezer, 5)
    assert await registers(client) == [1, INT16_UNAVAILABLE, 3, INT16_UNAVAILABLE]
    advance(hass, freezer, 50)
    assert await registers(client) == [INT16_UNAVAILABLE, INT16_UNAVAILABLE, 3, INT16_UNAVAILABLE]
    advance(hass, freezer, 86_400)
    assert (await registers(client))[2] == 3


async def test_a_revived_row_expires_on_its_own_max_age_before_the_other_rows(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    """The timer waits for the longest-lived fresh row; a revived short one must arm it earlier."""
    client = await serve(meter_rows(a=5, b=100, c=100, d=100, e=100), stale_after=None)
    advance(hass, freezer, 5)
    assert (await registers(client, 1))[0] == INT16_UNAVAILABLE
    advance(hass, freezer, 1)
    hass.states.async_set("sensor.a", "1")  # same value, revived at t=6
    assert (await registers(client, 1))[0] == 1
    advance(hass, freezer, 5)
    assert (await registers(client, 2)) == [INT16_UNAVAILABLE, 2]


async def test_a_row_override_turns_staleness_on_in_a_device_without_it(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    client = await serve(meter_rows(b=5))
    advance(hass, freezer, 3600)
    assert await registers(client) == [1, INT16_UNAVAILABLE, 3, 4]


async def test_staleness_is_off_by_default_while_a_device_with_it_goes_stale(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    default = await serve(meter_rows())
    with_staleness = await serve(meter_rows(), stale_after=10)
    advance(hass, freezer, 86_400)
    assert await registers(default) == [1, 2, 3, 4]
    assert await discrete_input(default) is True
    assert await registers(with_staleness) == [INT16_UNAVAILABLE] * 4


async def test_owned_rows_are_never_stale(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    owned = row("own", "holding_register", 10, "uint16", writable=True)
    client = await serve([*meter_rows(), owned], stale_after=10)
    assert not (await client.write_register(10, 1234, device_id=1)).isError()
    advance(hass, freezer, 86_400)
    response = await client.read_holding_registers(10, count=1, device_id=1)
    assert response.registers == [1234]
    assert (await registers(client, 1))[0] == INT16_UNAVAILABLE  # its neighbours did go stale


async def test_a_source_last_reported_before_the_start_is_stale_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    hass.states.async_set("sensor.a", "1")
    freezer.tick(timedelta(seconds=20))
    client = await serve(meter_rows(), stale_after=10)
    assert (await registers(client, 1))[0] == INT16_UNAVAILABLE


async def test_a_source_that_appears_later_goes_stale_after_its_max_age(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, serve: Callable[..., Any]
) -> None:
    rows = [*meter_rows(), row("late", "holding_register", 4, "int16", entity_id="sensor.late")]
    client = await serve(rows, stale_after=10)
    advance(hass, freezer, 10)
    assert await registers(client, 5) == [INT16_UNAVAILABLE] * 5  # sensor.late has no state yet
    hass.states.async_set("sensor.late", "7")  # every other source is stale: no timer armed
    advance(hass, freezer, 9)
    assert (await registers(client, 5))[4] == 7
    advance(hass, freezer, 1)
    assert (await registers(client, 5))[4] == INT16_UNAVAILABLE


async def test_staleness_also_applies_without_the_encoded_view(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass.states.async_set("sensor.x", "21.5")
    p = point("sensor.x", Area.HOLDING_REGISTER, 0, "int16", key="x")
    register_map = RegisterMap([p])
    direct = Bridge(hass, register_map, OwnedStore(register_map), cache=False, stale_after=10)
    stop = direct.async_start()
    advance(hass, freezer, 10)
    assert direct.on_read(None, p.area, 0, 1) == [INT16_UNAVAILABLE]
    hass.states.async_set("sensor.x", "21.5")
    assert read_value(direct, p) == 22  # fresh again (int16 rounds)
    stop()


async def test_the_server_entry_honours_the_rows_stale_after_and_counts_them_in_diagnostics(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, port: int
) -> None:
    """A v1 entry (one subentry per row), migrated at setup: the row's `stale_after` applies."""
    hass.states.async_set("sensor.a", "5")
    hass.states.async_set("sensor.b", "6")
    entry = MockConfigEntry(
        domain="modbus_server",
        title="Plant",
        data=server_data(port),
        subentries_data=[
            point_subentry(
                point_data("holding_register", 0, "int16", entity_id="sensor.a", stale_after=30),
                "ra",
            ),
            point_subentry(point_data("holding_register", 1, "int16", entity_id="sensor.b"), "rb"),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=3)
    assert await client.connect()
    try:
        advance(hass, freezer, 30)
        assert (await client.read_holding_registers(0, count=2)).registers == [
            INT16_UNAVAILABLE,
            6,
        ]
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
        (device,) = diagnostics["devices"].values()
        assert device["stale_points"] == 1
    finally:
        client.close()
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("row", "device", "expected"),
    [
        (None, 30.0, 30.0),  # inherit
        ("", 30.0, 30.0),  # a cleared form field inherits too
        (0, 30.0, None),  # never
        (5, 30.0, 5.0),  # override
        (5, None, 5.0),  # on in a device without staleness
        (None, None, None),  # off by default
    ],
)
def test_a_rows_stale_after_inherits_when_empty_and_0_means_never(
    row: float | str | None, device: float | None, expected: float | None
) -> None:
    assert max_age(row, device) == expected


async def _add_row_through_the_flow(
    hass: HomeAssistant, entry: MockConfigEntry, entity_id: str, address: int, advanced: Any
) -> Any:
    """Add an int16 holding register for `entity_id` with the row form's Advanced section."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "point"), context={"source": "user"}
    )
    configure = hass.config_entries.subentries.async_configure
    result = await configure(result["flow_id"], {"next_step_id": "entity"})
    result = await configure(result["flow_id"], {"entity_id": entity_id})
    if result["step_id"] == "area":
        result = await configure(result["flow_id"], {"area": "holding_register"})
    assert result["step_id"] == "point"
    (section_key,) = [key for key in result["data_schema"].schema if key == "advanced"]
    assert "stale_after" in result["data_schema"].schema[section_key].schema.schema
    # what "empty" means here: the field's description names the device's setting
    assert result["description_placeholders"]["device_stale_after"] == "20 s"
    return await configure(
        result["flow_id"],
        {
            "address": address,
            "data_type": "int16",
            "scale": 1,
            "offset": 0,
            "advanced": {"word_order": "big", "byte_order": "big", **advanced},
        },
    )


async def test_the_row_forms_stale_after_is_stored_and_applies_to_that_row_only(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any], port: int
) -> None:
    """Per row, through the subentry flow: 5 s on a device without staleness, 0 in one with."""
    for name, value in (("sensor.a", "5"), ("sensor.b", "6"), ("sensor.c", "7")):
        hass.states.async_set(name, value)
    entry = v2_entry(hass_storage, port, unit_ids=[1], stale_after=20)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await _add_row_through_the_flow(hass, entry, "sensor.a", 0, {"stale_after": 5})
    assert result["reason"] == "row_added"
    result = await _add_row_through_the_flow(hass, entry, "sensor.b", 1, {"stale_after": 0})
    result = await _add_row_through_the_flow(hass, entry, "sensor.c", 2, {})  # the device's
    await hass.async_block_till_done()
    stored = {row["entity_id"]: row.get("stale_after") for row in stored_rows(hass).values()}
    assert stored == {"sensor.a": 5.0, "sensor.b": 0.0, "sensor.c": None}
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=3)
    assert await client.connect()
    try:
        assert (await client.read_holding_registers(0, count=3)).registers == [5, 6, 7]
        advance(hass, freezer, 5)  # sensor.a is past its row's 5 s, the others are not
        assert (await client.read_holding_registers(0, count=3)).registers == [
            INT16_UNAVAILABLE,
            6,
            7,
        ]
        advance(hass, freezer, 15)  # 20 s: the device's age for sensor.c; never for sensor.b
        assert (await client.read_holding_registers(0, count=3)).registers == [
            INT16_UNAVAILABLE,
            6,
            INT16_UNAVAILABLE,
        ]
    finally:
        client.close()
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_owned_row_has_no_stale_after_field(
    hass: HomeAssistant, hass_storage: dict[str, Any], port: int
) -> None:
    """A value owned by the integration has no source to go stale: the form does not ask."""
    entry = v2_entry(hass_storage, port)
    entry.add_to_hass(hass)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "point"), context={"source": "user"}
    )
    configure = hass.config_entries.subentries.async_configure
    result = await configure(result["flow_id"], {"next_step_id": "owned"})
    result = await configure(result["flow_id"], {"name": "Setpoint", "area": "holding_register"})
    (section_key,) = [key for key in result["data_schema"].schema if key == "advanced"]
    assert "stale_after" not in result["data_schema"].schema[section_key].schema.schema


async def test_an_edit_that_turns_staleness_on_serves_an_old_source_as_stale_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The new table takes the running one's values only where both agree on staleness."""
    hass.states.async_set("sensor.a", "1")
    server = Server(host="127.0.0.1", port=0)
    runtime = ServerRuntime(server)
    rows = [row("a", "holding_register", 0, "int16", entity_id="sensor.a")]
    running = DeviceRuntime(
        hass, DeviceSettings.from_data("m", {"unit_ids": [1]}, revision="1"), rows
    )
    runtime.async_set_device(running)
    await server.start()
    client = AsyncModbusTcpClient("127.0.0.1", port=server.port, retries=0, timeout=3)
    assert await client.connect()
    try:
        advance(hass, freezer, 120)
        assert await registers(client, 1) == [1]  # staleness off: the old value is served
        settings = DeviceSettings.from_data("m", {"unit_ids": [1], "stale_after": 60}, revision="1")
        runtime.async_set_device(DeviceRuntime(hass, settings, rows, previous=running))
        assert await registers(client, 1) == [INT16_UNAVAILABLE]
    finally:
        client.close()
        runtime.async_stop()
        await server.stop()
