"""Write path over TCP, through a set-up entry: what a real Modbus client sees and when."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.modbus_server.const import CONF_WRITE_TIMEOUT, DOMAIN, EVENT_WRITE
from custom_components.modbus_server.logbook import describe_write

from .conftest import only_device, point_data, point_subentry, server_data, tcp_client

ILLEGAL_DATA_VALUE = 3
SERVER_DEVICE_FAILURE = 4
SERVER_DEVICE_BUSY = 6


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """HR 0..1 writes input_number.level (0..50), coil 0 switches switch.valve."""
    return [
        point_subentry(
            point_data(
                "holding_register", 0, "float32", entity_id="input_number.level", writable=True
            ),
            "level",
        ),
        point_subentry(
            point_data("coil", 0, "bool", entity_id="switch.valve", writable=True), "valve"
        ),
    ]


@pytest.fixture(autouse=True)
async def entities(hass: HomeAssistant) -> None:
    """A real input_number helper and a switch state (its service is up to each test)."""
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"level": {"min": 0, "max": 50, "step": 0.5, "initial": 10}}},
    )
    hass.states.async_set("switch.valve", "off")


def float_registers(client: AsyncModbusTcpClient, value: float) -> list[int]:
    """The two registers of a big-endian float32."""
    return list(client.convert_to_registers(value, client.DATATYPE.FLOAT32))


async def test_response_is_sent_only_after_the_service_call_completed(
    hass: HomeAssistant, client: AsyncModbusTcpClient
) -> None:
    release = asyncio.Event()
    steps: list[str] = []

    async def turn_on(call: ServiceCall) -> None:
        steps.append("called")
        await release.wait()
        hass.states.async_set("switch.valve", "on", context=call.context)
        steps.append("done")

    hass.services.async_register("switch", "turn_on", turn_on)
    write = asyncio.create_task(client.write_coil(0, True))
    for _ in range(50):
        await asyncio.sleep(0.01)
    assert steps == ["called"]
    assert not write.done()  # the client still waits while the device operation runs

    release.set()
    response = await write
    assert not response.isError()
    assert steps == ["called", "done"]
    assert hass.states.get("switch.valve").state == "on"  # type: ignore[union-attr]


async def test_out_of_range_answers_illegal_data_value_and_calls_nothing(
    hass: HomeAssistant, client: AsyncModbusTcpClient
) -> None:
    calls: list[Any] = []
    writes: list[Any] = []
    hass.bus.async_listen(EVENT_CALL_SERVICE, calls.append)
    hass.bus.async_listen(EVENT_WRITE, writes.append)
    for value in (60.0, -1.0, 10.1):  # above max, below min, off the 0.5 step
        response = await client.write_registers(0, float_registers(client, value))
        assert response.isError()
        assert response.exception_code == ILLEGAL_DATA_VALUE
    await hass.async_block_till_done()
    assert calls == []
    assert writes == []
    assert hass.states.get("input_number.level").state == "10.0"  # type: ignore[union-attr]


async def test_slow_call_answers_busy_and_still_completes(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    only_device(loaded_entry).bridge.write_timeout = 0.05
    release = asyncio.Event()

    async def turn_on(call: ServiceCall) -> None:
        await release.wait()
        hass.states.async_set("switch.valve", "on")

    hass.services.async_register("switch", "turn_on", turn_on)
    response = await client.write_coil(0, True)
    assert response.exception_code == SERVER_DEVICE_BUSY
    release.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("switch.valve").state == "on"  # type: ignore[union-attr]


async def test_failing_call_answers_device_failure(
    hass: HomeAssistant, client: AsyncModbusTcpClient
) -> None:
    async def turn_on(call: ServiceCall) -> None:
        raise HomeAssistantError("valve jammed")

    hass.services.async_register("switch", "turn_on", turn_on)
    response = await client.write_coil(0, True)
    assert response.exception_code == SERVER_DEVICE_FAILURE


async def test_write_context_and_event_name_the_client(
    hass: HomeAssistant, client: AsyncModbusTcpClient
) -> None:
    writes: list[Any] = []
    hass.bus.async_listen(EVENT_WRITE, writes.append)
    response = await client.write_registers(0, float_registers(client, 21.5), device_id=7)
    assert not response.isError()
    state = hass.states.get("input_number.level")
    assert state is not None
    assert state.state == "21.5"
    await hass.async_block_till_done()
    assert len(writes) == 1
    event = writes[0]
    assert event.context.id == state.context.id
    assert event.context.user_id is None
    local_port = client.ctx.transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
    assert {k: event.data[k] for k in ("client", "client_port", "unit_id")} == {
        "client": "127.0.0.1",
        "client_port": local_port,
        "unit_id": 7,
    }
    assert event.data["entity_id"] == "input_number.level"
    assert event.data["value"] == 21.5
    assert event.data["values"] == float_registers(client, 21.5)


# --- the audit trail records what happened -------------------------------------------------------


async def test_failed_call_is_recorded_as_failed_never_as_written(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
) -> None:
    async def turn_on(call: ServiceCall) -> None:
        raise HomeAssistantError("valve jammed")

    hass.services.async_register("switch", "turn_on", turn_on)
    writes: list[Any] = []
    hass.bus.async_listen(EVENT_WRITE, writes.append)
    assert (await client.write_coil(0, True)).exception_code == SERVER_DEVICE_FAILURE
    assert not (await client.write_registers(0, float_registers(client, 21.5))).isError()
    await hass.async_block_till_done()
    # Order-free: the failed call's event may come after the next write's (a busy machine).
    by_entity = {e.data["entity_id"]: e.data for e in writes}
    assert len(writes) == 2
    assert {k: v["result"] for k, v in by_entity.items()} == {
        "switch.valve": "failed",
        "input_number.level": "applied",
    }
    assert "valve jammed" in by_entity["switch.valve"]["error"]
    assert (
        describe_write(by_entity["switch.valve"])
        == "write by Modbus client 127.0.0.1 (unit 1) failed: CO 0 = 1"
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    (device,) = diagnostics["devices"].values()
    assert device["writes"] == {
        "applied": 1,
        "failed": 1,
        "timeout": 0,
        "unchanged": 0,
        "busy": 0,
    }


async def test_write_deadline_comes_from_the_entry_and_a_late_write_is_recorded_as_timeout(
    hass: HomeAssistant, port: int, subentries: list[ConfigSubentryData]
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=server_data(port, **{CONF_WRITE_TIMEOUT: 0.05}),
        subentries_data=subentries,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert only_device(entry).bridge.write_timeout == 0.05
    release = asyncio.Event()

    async def turn_on(call: ServiceCall) -> None:
        await release.wait()

    hass.services.async_register("switch", "turn_on", turn_on)
    writes: list[Any] = []
    hass.bus.async_listen(EVENT_WRITE, writes.append)
    async with tcp_client(port) as modbus:
        assert (await modbus.write_coil(0, True)).exception_code == SERVER_DEVICE_BUSY
    await hass.async_block_till_done()
    assert [e.data["result"] for e in writes] == ["timeout"]
    assert describe_write(writes[0].data).startswith("write by Modbus client 127.0.0.1")
    assert "timed out: CO 0 = 1" in describe_write(writes[0].data)
    assert only_device(entry).bridge.counters["timeout"] == 1
    release.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_the_rows_write_mode_reaches_the_bridge(hass: HomeAssistant, port: int) -> None:
    """Row data `write_mode: always` -> every rewrite of the same value calls the service."""
    level = {"entity_id": "input_number.level", "writable": True}
    rows = [
        point_subentry(
            point_data("holding_register", 0, "float32", **level, write_mode="always"), "always"
        ),
        # no write_mode stored (rows made before it existed): the domain's default
        point_subentry(point_data("holding_register", 2, "float32", **level), "default"),
    ]
    entry = MockConfigEntry(domain=DOMAIN, data=server_data(port), subentries_data=rows)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    writes: list[Any] = []
    hass.bus.async_listen(EVENT_WRITE, writes.append)
    async with tcp_client(port) as modbus:
        for _ in range(2):
            assert not (await modbus.write_registers(0, float_registers(modbus, 10.0))).isError()
            assert not (await modbus.write_registers(2, float_registers(modbus, 10.0))).isError()
    await hass.async_block_till_done()
    assert [e.data["address"] for e in writes] == [0, 0]
    await hass.config_entries.async_unload(entry.entry_id)
