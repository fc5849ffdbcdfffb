"""Rows follow their entities: renaming an entity id keeps its rows serving it."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.modbus_server.const import DOMAIN
from custom_components.modbus_server.issues import missing_issue_id
from custom_components.modbus_server.renames import renamed_rows

from .conftest import point_data, point_subentry, stored_rows


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """Two rows of sensor.boiler (IR 0 and HR 0) and one of sensor.other."""
    return [
        point_subentry(point_data("input_register", 0, "int16", entity_id="sensor.boiler"), "ir0"),
        point_subentry(
            point_data("holding_register", 0, "int16", entity_id="sensor.boiler"), "hr0"
        ),
        point_subentry(point_data("input_register", 1, "int16", entity_id="sensor.other"), "ir1"),
    ]


@pytest.fixture
def registered(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> er.EntityRegistry:
    """sensor.boiler and sensor.other exist in the registry (as entities of another integration)."""
    for object_id in ("boiler", "other"):
        entity_registry.async_get_or_create(
            "sensor", "template", object_id, suggested_object_id=object_id
        )
        hass.states.async_set(f"sensor.{object_id}", "11")
    return entity_registry


async def read_ir(port: int, address: int) -> int:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=1, timeout=3)
    assert await client.connect()
    try:
        response = await client.read_input_registers(address, count=1, device_id=1)
        assert not response.isError(), response
        return int(response.registers[0])
    finally:
        client.close()


async def test_renamed_entity_keeps_its_rows(
    hass: HomeAssistant,
    registered: er.EntityRegistry,
    loaded_entry: MockConfigEntry,
    port: int,
    issue_registry: ir.IssueRegistry,
) -> None:
    assert await read_ir(port, 0) == 11

    registered.async_update_entity("sensor.boiler", new_entity_id="sensor.boiler_flow")
    hass.states.async_remove("sensor.boiler")
    hass.states.async_set("sensor.boiler_flow", "42")
    await hass.async_block_till_done()

    rows = stored_rows(hass)
    assert rows["ir0"]["entity_id"] == "sensor.boiler_flow"
    assert rows["hr0"]["entity_id"] == "sensor.boiler_flow"
    assert rows["ir1"]["entity_id"] == "sensor.other"  # untouched
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert await read_ir(port, 0) == 42  # the row serves the renamed entity
    assert issue_registry.async_get_issue(DOMAIN, missing_issue_id(loaded_entry.entry_id)) is None


async def test_removed_entity_is_not_followed_and_raises_the_repair(
    hass: HomeAssistant,
    registered: er.EntityRegistry,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    hass.states.async_remove("sensor.other")
    registered.async_remove("sensor.other")
    await hass.async_block_till_done()
    assert stored_rows(hass)["ir1"]["entity_id"] == "sensor.other"
    issue = issue_registry.async_get_issue(DOMAIN, missing_issue_id(loaded_entry.entry_id))
    assert issue is not None
    assert "sensor.other" in issue.translation_placeholders["entities"]  # type: ignore[index]


def test_renamed_rows_counts_only_rows_of_the_old_id() -> None:
    rows: list[dict[str, Any]] = [
        {"entity_id": "a.x", "address": 0},
        {"entity_id": "a.y", "address": 1},
        {"entity_id": None, "address": 2},
    ]
    result, changed = renamed_rows(rows, "a.x", "a.z")
    assert changed == 1
    assert [r["entity_id"] for r in result] == ["a.z", "a.y", None]
    assert rows[0]["entity_id"] == "a.x"  # the input is not modified
