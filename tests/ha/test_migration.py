"""v1 -> v2: a server whose rows were subentries becomes a server with one device and its table.

The v1 installation is `fixtures/v1_storage.json`, the storage the v1 flows wrote (see
`fixtures/make_v1_storage.py`): a server answering unit id 7 with the unmapped policy "zero",
five rows fed by entities and three owned rows whose entities have restored values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentry, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

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
