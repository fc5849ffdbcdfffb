"""Device runtimes swapped into a running server: edits apply live, no client is disconnected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant
from pymodbus.client import AsyncModbusTcpClient

from custom_components.modbus_server.bridge import Bridge
from custom_components.modbus_server.modbus import Server
from custom_components.modbus_server.registermap import MapValidationError, UnmappedPolicy
from custom_components.modbus_server.runtime import (
    DeviceRuntime,
    DeviceSettings,
    ServerRuntime,
    compile_table,
)
from custom_components.modbus_server.table_store import ROW_ID

from .conftest import point_data

pytestmark = pytest.mark.usefixtures("socket_enabled")


def settings(device_id: str, *units: int, **data: Any) -> DeviceSettings:
    return DeviceSettings.from_data(
        device_id, {"name": device_id, "unit_ids": list(units), **data}, revision="1.0"
    )


def rows_of(entity_id: str, count: int = 10) -> list[dict[str, Any]]:
    """`count` int16 holding registers HR 0.. fed by one entity."""
    return [
        {**point_data("holding_register", i, "int16", entity_id=entity_id), ROW_ID: f"r{i}"}
        for i in range(count)
    ]


@pytest.fixture
async def served(hass: HomeAssistant) -> AsyncGenerator[tuple[ServerRuntime, int]]:
    hass.states.async_set("sensor.a", "1")
    hass.states.async_set("sensor.b", "2")
    server = Server(host="127.0.0.1", port=0)
    runtime = ServerRuntime(server)
    runtime.async_set_device(DeviceRuntime(hass, settings("meter", 1), rows_of("sensor.a")))
    await server.start()
    yield runtime, server.port
    runtime.async_stop()
    await server.stop()


async def connect(port: int) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=3)
    assert await client.connect()
    return client


async def test_100_edits_while_a_client_polls_never_mix_tables_or_disconnect(
    hass: HomeAssistant, served: tuple[ServerRuntime, int]
) -> None:
    runtime, port = served
    client = await connect(port)
    responses: list[list[int]] = []
    stop = asyncio.Event()

    async def poll() -> None:
        while not stop.is_set():
            response = await client.read_holding_registers(0, count=10, device_id=1)
            assert not response.isError(), response
            responses.append(list(response.registers))

    poller = asyncio.create_task(poll())
    for edit in range(100):
        source = "sensor.b" if edit % 2 == 0 else "sensor.a"
        runtime.async_set_device(DeviceRuntime(hass, settings("meter", 1), rows_of(source)))
        await asyncio.sleep(0.002)  # let requests in between the edits
    stop.set()
    await poller
    client.close()

    assert len(responses) > 10
    assert {tuple(r) for r in responses} <= {(1,) * 10, (2,) * 10}  # never half of each
    assert {tuple(r) for r in responses} == {(1,) * 10, (2,) * 10}  # both tables were served
    stats = runtime.server.stats
    assert stats.connections_total == 1  # one connection from start to end
    assert stats.counters.exceptions.total() == 0


async def test_a_second_device_answers_its_unit_and_removal_makes_it_unknown(
    hass: HomeAssistant, served: tuple[ServerRuntime, int]
) -> None:
    runtime, port = served
    client = await connect(port)
    runtime.async_set_device(DeviceRuntime(hass, settings("inverter", 2), rows_of("sensor.b", 2)))
    assert (await client.read_holding_registers(0, count=2, device_id=1)).registers == [1, 1]
    assert (await client.read_holding_registers(0, count=2, device_id=2)).registers == [2, 2]
    runtime.async_remove_device("inverter")
    response = await client.read_holding_registers(0, count=2, device_id=2)
    assert response.isError()
    assert response.exception_code == 0x0B
    client.close()


async def test_a_unit_id_clash_changes_nothing(
    hass: HomeAssistant, served: tuple[ServerRuntime, int]
) -> None:
    runtime, port = served
    clash = DeviceRuntime(hass, settings("other", 1), rows_of("sensor.b"))
    with pytest.raises(ValueError, match="unit id 1"):
        runtime.async_set_device(clash)
    assert list(runtime.devices) == ["meter"]
    client = await connect(port)
    assert (await client.read_holding_registers(0, count=1, device_id=1)).registers == [1]
    client.close()
    hass.states.async_set("sensor.b", "7")  # the refused runtime follows nothing
    assert clash.bridge.on_read(None, clash.register_map.points[0].area, 0, 1) == [2]


async def test_the_replaced_runtime_stops_following_its_sources(
    hass: HomeAssistant, served: tuple[ServerRuntime, int]
) -> None:
    runtime, _ = served
    old = runtime.devices["meter"]
    runtime.async_set_device(DeviceRuntime(hass, settings("meter", 1), rows_of("sensor.b")))
    hass.states.async_set("sensor.a", "5")
    await hass.async_block_till_done()
    area = old.register_map.points[0].area
    assert old.bridge.on_read(None, area, 0, 1) == [1]  # no longer updated
    new = runtime.devices["meter"]
    hass.states.async_set("sensor.b", "9")
    assert new.bridge.on_read(None, area, 0, 1) == [9]


async def test_owned_values_survive_a_table_edit(
    hass: HomeAssistant, served: tuple[ServerRuntime, int]
) -> None:
    runtime, port = served
    owned_row = {**point_data("holding_register", 20, "uint16", writable=True), ROW_ID: "own"}
    first = DeviceRuntime(hass, settings("meter", 1), [*rows_of("sensor.a"), owned_row])
    runtime.async_set_device(first)
    client = await connect(port)
    assert not (await client.write_register(20, 1234, device_id=1)).isError()
    edited = DeviceRuntime(
        hass, settings("meter", 1), [*rows_of("sensor.b"), owned_row], previous=first
    )
    runtime.async_set_device(edited)
    assert (await client.read_holding_registers(20, count=1, device_id=1)).registers == [1234]
    client.close()


def test_settings_default_the_identification_and_parse_units() -> None:
    parsed = DeviceSettings.from_data(
        "d1",
        {
            "name": "Meter",
            "unit_ids": [1, 255],
            "unmapped": "zero",
            "stale_after": 30,
            "identification": {"vendor_name": "ACME", "bogus": "x"},
        },
        revision="2.0",
    )
    assert parsed.unit_ids == frozenset({1, 255})
    assert parsed.stale_after == 30.0
    assert parsed.identification.vendor_name == "ACME"
    assert parsed.identification.product_name == "Meter"
    assert parsed.identification.revision == "2.0"
    assert DeviceSettings.from_data("d2", {"unit_ids": None}, revision="1").unit_ids is None


async def test_an_edit_reads_the_states_into_the_view_once(
    hass: HomeAssistant, served: tuple[ServerRuntime, int]
) -> None:
    runtime, _ = served
    builds = 0
    original = Bridge._build_view

    def counting(self: Bridge) -> None:
        nonlocal builds
        builds += 1
        original(self)

    with patch.object(Bridge, "_build_view", counting):
        runtime.async_set_device(DeviceRuntime(hass, settings("meter", 1), rows_of("sensor.b")))
    assert builds == 1


async def test_a_device_removed_while_its_change_builds_stays_removed(
    hass: HomeAssistant, served: tuple[ServerRuntime, int]
) -> None:
    """A change still being built when its device is removed is dropped, not applied."""
    runtime, _ = served
    building, release = asyncio.Event(), asyncio.Event()

    async def build() -> DeviceRuntime:
        building.set()
        await release.wait()
        return DeviceRuntime(hass, settings("meter", 1), rows_of("sensor.b"))

    change = asyncio.create_task(runtime.async_apply("meter", build))
    await building.wait()
    runtime.async_remove_device("meter")
    release.set()
    assert await change is None
    assert "meter" not in runtime.devices
    assert runtime.server.devices == []


async def test_changes_apply_in_order_and_a_superseded_one_is_not_built(
    hass: HomeAssistant, served: tuple[ServerRuntime, int]
) -> None:
    """Three changes asked while the first builds: the first applies, the second is skipped."""
    runtime, _ = served
    release = asyncio.Event()
    built: list[str] = []

    def change(source: str, wait: bool) -> Any:
        async def build() -> DeviceRuntime:
            built.append(source)
            if wait:
                await release.wait()
            return DeviceRuntime(hass, settings("meter", 1), rows_of(source, 3))

        return build

    first = asyncio.create_task(runtime.async_apply("meter", change("sensor.b", True)))
    await asyncio.sleep(0)
    second = asyncio.create_task(runtime.async_apply("meter", change("sensor.a", False)))
    third = asyncio.create_task(runtime.async_apply("meter", change("sensor.b", False)))
    await asyncio.sleep(0)
    release.set()
    assert await first is None  # superseded while it was built
    assert await second is None  # superseded before its turn: never built
    assert await third is runtime.devices["meter"]
    assert built == ["sensor.b", "sensor.b"]


def test_an_edit_compiles_only_the_changed_rows_and_still_checks_the_whole_table() -> None:
    first = compile_table(rows_of("sensor.a"), UnmappedPolicy.ERROR)
    rows = rows_of("sensor.a")
    rows[9] = {**rows[9], "scale": 2.0}
    edited = compile_table(rows, UnmappedPolicy.ERROR, first)
    before, after = first.register_map.points, edited.register_map.points
    assert all(after[i] is before[i] for i in range(9))  # unchanged rows: the same points
    assert after[9] is not before[9]
    assert after[9].scale == 2.0
    # a changed row that now overlaps an unchanged one is refused, naming both
    rows[9] = {**rows[9], "address": 3}
    with pytest.raises(MapValidationError, match="overlaps"):
        compile_table(rows, UnmappedPolicy.ERROR, edited)
    # a changed row that is bad on its own is refused too
    rows[9] = {**rows_of("sensor.a")[9], "data_type": "float32", "bit": 3}
    with pytest.raises(MapValidationError, match="bit"):
        compile_table(rows, UnmappedPolicy.ERROR, edited)


async def test_an_edit_takes_over_the_running_values_and_then_follows_the_states(
    hass: HomeAssistant, served: tuple[ServerRuntime, int]
) -> None:
    runtime, port = served
    hass.states.async_set("sensor.a", "5")
    rows = rows_of("sensor.a")
    rows[9] = {**rows[9], "scale": 0.5}  # engineering 5 -> raw 10
    runtime.async_set_device(
        DeviceRuntime(hass, settings("meter", 1), rows, previous=runtime.devices["meter"])
    )
    client = await connect(port)
    response = await client.read_holding_registers(0, count=10, device_id=1)
    assert response.registers == [5] * 9 + [10]
    hass.states.async_set("sensor.a", "6")
    response = await client.read_holding_registers(0, count=10, device_id=1)
    assert response.registers == [6] * 9 + [12]
    client.close()


def test_a_row_changed_in_place_after_a_compile_is_compiled_anew() -> None:
    rows = rows_of("sensor.a")
    first = compile_table(rows, UnmappedPolicy.ERROR)
    rows[9]["scale"] = 2.0  # the same dict, changed
    edited = compile_table(rows, UnmappedPolicy.ERROR, first)
    assert edited.register_map.points[9].scale == 2.0
