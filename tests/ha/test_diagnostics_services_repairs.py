"""Diagnostics download, the export action, repair issues and the diagnostic entities."""

from __future__ import annotations

from datetime import timedelta

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ExceptionResponse
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.modbus_server.const import DOMAIN, MONITOR_INTERVAL
from custom_components.modbus_server.registermap import import_csv, import_json

from .conftest import async_edit_table, only_device, point_data, point_subentry, server_data


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """A small table: a mapped sensor, a mapped switch, an owned register."""
    return [
        point_subentry(
            point_data("input_register", 0, "float32", entity_id="sensor.boiler_temp", unit="°C"),
            "boiler",
            "IR 0 (30001) · sensor.boiler_temp · float32",
        ),
        point_subentry(
            point_data("coil", 0, "bool", entity_id="switch.pump", writable=True),
            "pump",
            "CO 0 (00001) · switch.pump · bool",
        ),
        point_subentry(
            point_data("holding_register", 5, "uint16", name="Mode", writable=True),
            "mode",
            "HR 5 (40006) · Mode · uint16",
        ),
    ]


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: object,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    snapshot: SnapshotAssertion,
) -> None:
    hass.states.async_set("sensor.boiler_temp", "21.5")
    await client.read_input_registers(0, count=2)
    await client.read_input_registers(100, count=1)  # unmapped: exception 02
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    assert diagnostics["counters"]["requests"] == 2
    assert diagnostics["counters"]["exceptions"] == {"0x02": 1}
    assert len(diagnostics["connections"]) == 1
    assert diagnostics["connections"][0]["host"] == "127.0.0.1"
    assert diagnostics == snapshot(
        exclude=props("port", "listening", "connected_since", "last_request")
    )


async def test_export_register_map_returns_csv_and_json(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    response = await hass.services.async_call(
        DOMAIN,
        "export_register_map",
        {ATTR_CONFIG_ENTRY_ID: loaded_entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    table = only_device(loaded_entry).register_map.points
    # both formats read back to the same points (keys are not exported)
    assert [p.source for p in import_csv(str(response["csv"]))] == [p.source for p in table]
    assert [p.address for p in import_json(str(response["json"]))] == [0, 0, 5]
    assert response["table"]["points"][0]["source"] == "sensor.boiler_temp"  # type: ignore[index]


async def test_export_of_an_unloaded_entry_is_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await hass.config_entries.async_unload(loaded_entry.entry_id)
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "export_register_map",
            {ATTR_CONFIG_ENTRY_ID: loaded_entry.entry_id},
            blocking=True,
            return_response=True,
        )


async def test_missing_entities_issue_lists_them_and_clears_when_fixed(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    issue_id = f"missing_entities_{loaded_entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "name": "Plant",
        "entities": "sensor.boiler_temp, switch.pump",
    }
    # one comes back as a registered entity
    entity_registry.async_get_or_create("switch", "demo", "pump", suggested_object_id="pump")
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders["entities"] == "sensor.boiler_temp"  # type: ignore[index]
    # the other row is deleted -> the table is swapped -> no issue left
    await async_edit_table(hass, loaded_entry, remove=("boiler",))
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_entity_with_only_a_state_counts_as_existing(
    hass: HomeAssistant, port: int, issue_registry: ir.IssueRegistry
) -> None:
    hass.states.async_set("sensor.boiler_temp", "20")
    hass.states.async_set("switch.pump", "off")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Plant",
        data=server_data(port),
        subentries_data=[
            point_subentry(point_data("coil", 0, "bool", entity_id="switch.pump"), "pump")
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, f"missing_entities_{entry.entry_id}") is None
    await hass.config_entries.async_remove(entry.entry_id)


async def test_removing_the_entry_removes_its_issues(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    assert issue_registry.async_get_issue(DOMAIN, f"missing_entities_{loaded_entry.entry_id}")
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    assert not [i for i in issue_registry.issues.values() if i.domain == DOMAIN]


async def test_diagnostic_entities_follow_the_clients(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    entity_registry: er.EntityRegistry,
) -> None:
    hass.states.async_set("switch.pump", "on")
    # the noisy ones are disabled by default
    for entity_id in ("sensor.plant_requests_per_minute", "sensor.plant_last_client"):
        registry_entry = entity_registry.async_get(entity_id)
        assert registry_entry is not None
        assert registry_entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION

    assert (await client.read_coils(0, count=1)).bits[0] is True
    response = await client.read_coils(50, count=1)
    assert isinstance(response, ExceptionResponse) or response.isError()
    monitor = loaded_entry.runtime_data.monitor
    # the periodic sample, as HA's scheduler runs it (on the event loop)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=MONITOR_INTERVAL + 1))
    await hass.async_block_till_done()
    assert hass.states.get("sensor.plant_connected_clients").state == "1"  # type: ignore[union-attr]
    assert hass.states.get("binary_sensor.plant_client_connected").state == "on"  # type: ignore[union-attr]
    assert hass.states.get("sensor.plant_modbus_exceptions").state == "1"  # type: ignore[union-attr]
    assert monitor.snapshot.requests == 2
    assert monitor.snapshot.last_client == "127.0.0.1"
    assert monitor.snapshot.requests_per_minute > 0

    client.close()
    for _ in range(20):
        await hass.async_block_till_done()
        if not loaded_entry.runtime_data.server.connections:
            break
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2 * MONITOR_INTERVAL + 2))
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.plant_client_connected").state == "off"  # type: ignore[union-attr]
    # the last client is remembered after it left
    assert monitor.snapshot.last_client == "127.0.0.1"


async def test_requests_per_minute_window() -> None:
    from types import SimpleNamespace  # noqa: PLC0415
    from unittest.mock import MagicMock  # noqa: PLC0415

    from custom_components.modbus_server.modbus import Counters  # noqa: PLC0415
    from custom_components.modbus_server.monitor import ServerMonitor  # noqa: PLC0415

    counters = Counters()
    server = SimpleNamespace(
        stats=SimpleNamespace(counters=counters, connections=0), connections=[]
    )
    monitor = ServerMonitor(MagicMock(), server, "x")  # type: ignore[arg-type]
    with_dispatch = "custom_components.modbus_server.monitor.async_dispatcher_send"
    from unittest.mock import patch  # noqa: PLC0415

    with patch(with_dispatch):
        monitor.async_sample(now=0.0)
        assert monitor.snapshot.requests_per_minute == 0.0
        counters.requests = 30
        monitor.async_sample(now=30.0)
        assert monitor.snapshot.requests_per_minute == 60.0
        counters.requests = 90
        monitor.async_sample(now=90.0)
        # the window forgets samples older than 60 s: (90 - 30) / 60 s
        assert monitor.snapshot.requests_per_minute == 60.0


async def test_real_client_reads_an_entity_and_its_write_becomes_a_service_call(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    hass.states.async_set("sensor.boiler_temp", "21.5", {"unit_of_measurement": "°C"})
    hass.states.async_set("switch.pump", "off")
    calls: list[object] = []

    async def turn_on(call: object) -> None:
        calls.append(call)
        hass.states.async_set("switch.pump", "on")

    hass.services.async_register("switch", "turn_on", turn_on)
    registers = (await client.read_input_registers(0, count=2)).registers
    assert client.convert_from_registers(registers, client.DATATYPE.FLOAT32) == 21.5
    response = await client.write_coil(0, True)
    assert not response.isError()
    assert len(calls) == 1
    assert (await client.read_coils(0, count=1)).bits[0] is True


async def test_read_only_server_answers_writes_with_illegal_function(
    hass: HomeAssistant, port: int
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Plant",
        data=server_data(port, read_only=True),
        subentries_data=[
            point_subentry(
                point_data("holding_register", 5, "uint16", name="Mode", writable=True), "mode"
            )
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    modbus = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=3)
    assert await modbus.connect()
    try:
        response = await modbus.write_register(5, 1)
        assert response.isError()
        assert response.exception_code == 1
        assert only_device(entry).owned.get("mode") != 1
        # HA itself can still set an owned value
        await hass.services.async_call(
            "number", "set_value", {"entity_id": "number.plant_mode", "value": 3}, blocking=True
        )
        assert (await modbus.read_holding_registers(5, count=1)).registers == [3]
    finally:
        modbus.close()
        await hass.config_entries.async_unload(entry.entry_id)
