"""v1 -> v2: a server whose rows were subentries becomes a server with one device and its table.

The v1 installation is `fixtures/v1_storage.json`, the storage the v1 flows wrote (see
`fixtures/make_v1_storage.py`): a server answering unit id 7 with the unmapped policy "zero",
five rows fed by entities and three owned rows whose entities have restored values.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentry, ConfigSubentryData
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.modbus_server.const import (
    CONF_UNIT_ID,
    CONF_UNIT_IDS,
    CONF_UNKNOWN_UNIT,
    CONF_UNMAPPED,
    DOMAIN,
    SUBENTRY_DEVICE,
    SUBENTRY_POINT,
)
from custom_components.modbus_server.migration import async_migrate
from custom_components.modbus_server.table_store import ROW_ID, TableStore, storage_key

from .conftest import tcp_client

V1 = json.loads((Path(__file__).parent / "fixtures" / "v1_storage.json").read_text())
V1_ENTRY: dict[str, Any] = V1["core.config_entries"]["data"]["entries"][0]


def v1_entry() -> MockConfigEntry:
    """The stored v1 entry, as Home Assistant loads it."""
    return MockConfigEntry(
        domain=V1_ENTRY["domain"],
        entry_id=V1_ENTRY["entry_id"],
        title=V1_ENTRY["title"],
        data=V1_ENTRY["data"],
        version=V1_ENTRY["version"],
        minor_version=V1_ENTRY["minor_version"],
        subentries_data=[ConfigSubentryData(**s) for s in V1_ENTRY["subentries"]],  # type: ignore[typeddict-item]
    )


@pytest.fixture
def registry_with_v1_entities(hass: HomeAssistant, entry: MockConfigEntry) -> er.EntityRegistry:
    """The owned rows' entities as v1 registered them (on the entry, no subentry)."""
    entry.add_to_hass(hass)
    return register_v1_entities(hass, entry)


def register_v1_entities(hass: HomeAssistant, entry: MockConfigEntry) -> er.EntityRegistry:
    """Register the fixture's entities of `entry` as the v1 setup did."""
    registry = er.async_get(hass)
    for stored in V1["entity_registry_entries"]:
        registry.async_get_or_create(
            stored["domain"],
            stored["platform"],
            stored["unique_id"],
            config_entry=entry,
            suggested_object_id=stored["entity_id"].partition(".")[2],
        )
    return registry


@pytest.fixture
def entry() -> MockConfigEntry:
    """Override conftest's entry: the v1 one from the fixture."""
    return v1_entry()


async def test_v1_entry_becomes_one_device_holding_every_row(
    hass: HomeAssistant, entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    entry.add_to_hass(hass)
    v1_rows = {s["subentry_id"]: s["data"] for s in V1_ENTRY["subentries"]}
    assert len(v1_rows) == 8

    assert await async_migrate(hass, entry)

    assert (entry.version, entry.minor_version) == (2, 1)
    (device,) = entry.subentries.values()
    assert device.subentry_type == SUBENTRY_DEVICE
    assert device.title == "Plant"
    assert device.data[CONF_UNIT_IDS] == [7]  # the server answered unit 7 only
    assert device.data[CONF_UNMAPPED] == "zero"
    assert CONF_UNIT_ID not in entry.data
    assert CONF_UNMAPPED not in entry.data
    assert entry.data[CONF_UNKNOWN_UNIT] == "exception"  # other units: 0x0B, as in v1
    kept = {k: v for k, v in V1_ENTRY["data"].items() if k not in (CONF_UNIT_ID, CONF_UNMAPPED)}
    assert {k: entry.data[k] for k in kept} == kept

    store = TableStore(hass, entry.entry_id)
    await store.async_load()
    rows = {
        row[ROW_ID]: {k: v for k, v in row.items() if k != ROW_ID}
        for row in store.rows(device.subentry_id)
    }
    assert rows == v1_rows  # same rows, same ids, same data
    assert list(hass_storage[storage_key(entry.entry_id)]["data"]["devices"]) == [
        device.subentry_id
    ]


async def test_owned_entities_survive_the_migration(
    hass: HomeAssistant, entry: MockConfigEntry, registry_with_v1_entities: er.EntityRegistry
) -> None:
    before = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry_with_v1_entities, entry.entry_id)
    }
    assert await async_migrate(hass, entry)
    after = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry_with_v1_entities, entry.entry_id)
    }
    assert after == before
    owned_ids = {s["subentry_id"] for s in V1_ENTRY["subentries"] if s["data"]["entity_id"] is None}
    assert owned_ids <= set(after)  # the owned rows' entities keep their unique ids = row ids


async def test_an_interrupted_migration_completes_without_duplicates(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    entry.add_to_hass(hass)
    assert await async_migrate(hass, entry)
    (device,) = entry.subentries.values()
    # As if Home Assistant stopped after the rows were saved, before the version was bumped:
    # the point subentries are back and the version is 1 again.
    hass.config_entries.async_update_entry(
        entry,
        version=1,
        data={**entry.data, CONF_UNIT_ID: 7, CONF_UNMAPPED: "zero"},
    )
    for s in V1_ENTRY["subentries"]:
        hass.config_entries.async_add_subentry(entry, ConfigSubentry(**s))

    assert await async_migrate(hass, entry)

    assert [s.subentry_type for s in entry.subentries.values()] == [SUBENTRY_DEVICE]
    store = TableStore(hass, entry.entry_id)
    await store.async_load()
    assert len(store.rows(device.subentry_id)) == 8


async def test_a_newer_entry_is_refused(hass: HomeAssistant) -> None:
    newer = MockConfigEntry(domain=DOMAIN, title="Future", data={}, version=3)
    newer.add_to_hass(hass)
    assert not await async_migrate(hass, newer)
    assert newer.version == 3


def test_the_fixture_is_a_v1_installation() -> None:
    assert V1_ENTRY["version"] == 1
    assert {s["subentry_type"] for s in V1_ENTRY["subentries"]} == {SUBENTRY_POINT}
    assert V1_ENTRY["data"][CONF_UNIT_ID] == 7


async def test_a_migrated_entry_serves_the_same_units_rows_and_restored_values(
    hass: HomeAssistant, port: int, socket_enabled: None
) -> None:
    """The whole path: setup migrates the stored v1 entry, a real client reads the rows."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=V1_ENTRY["entry_id"],
        title=V1_ENTRY["title"],
        data={**V1_ENTRY["data"], "port": port},
        version=1,
        subentries_data=[ConfigSubentryData(**s) for s in V1_ENTRY["subentries"]],  # type: ignore[typeddict-item]
    )
    entry.add_to_hass(hass)
    registry = register_v1_entities(hass, entry)
    mock_restore_cache_with_extra_data(
        hass,
        [
            (State.from_dict(item["state"]), item["extra_data"])  # type: ignore[arg-type]
            for item in V1["core.restore_state"]["data"]
        ],
    )
    hass.states.async_set("sensor.boiler_temp", "21.5")

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.version == 2
    (device_id,) = entry.subentries

    async with tcp_client(port) as client:
        boiler = await client.read_input_registers(0, count=2, device_id=7)
        assert not boiler.isError()
        assert struct.unpack(">f", struct.pack(">HH", *boiler.registers))[0] == 21.5
        other_unit = await client.read_input_registers(0, count=2, device_id=1)
        assert other_unit.isError()
        assert other_unit.exception_code == 0x0B  # as the v1 server answered
        setpoint = await client.read_holding_registers(20, count=2, device_id=7)
        assert struct.unpack(">f", struct.pack(">HH", *setpoint.registers))[0] == 4.25
        coil = await client.read_coils(10, count=1, device_id=7)
        assert coil.bits[0] is True

    # The owned entities are the same registry entries, now on their device's subentry.
    for stored in V1["entity_registry_entries"]:
        if stored["unique_id"].startswith(entry.entry_id):
            continue  # diagnostics stay on the server's device
        entity = registry.async_get(stored["entity_id"])
        assert entity is not None
        assert entity.unique_id == stored["unique_id"]
        assert entity.config_subentry_id == device_id
    assert hass.states.get("number.plant_owned_setpoint").state == "4.25"  # type: ignore[union-attr]
    assert hass.states.get("switch.plant_owned_coil").state == "on"  # type: ignore[union-attr]
    devices = dr.async_get(hass)
    ha_device = devices.async_get_device_by_identifier((DOMAIN, device_id), entry.entry_id)
    server_device = devices.async_get_device_by_identifier((DOMAIN, entry.entry_id), entry.entry_id)
    assert ha_device is not None
    assert server_device is not None
    assert ha_device.via_device_id == server_device.id
    await hass.config_entries.async_unload(entry.entry_id)
