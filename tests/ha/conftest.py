"""Fixtures for the Home Assistant integration tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigSubentryData,
    ConfigSubentryDataWithId,
)
from homeassistant.const import CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.modbus_server.const import (
    CONF_ALLOWED_CLIENTS,
    CONF_BIND_ADDRESS,
    CONF_IDLE_TIMEOUT,
    CONF_MAX_CONNECTIONS,
    CONF_READ_ONLY,
    CONF_UNIT_ID,
    CONF_UNKNOWN_UNIT,
    CONF_UNMAPPED,
    DEFAULT_UNKNOWN_UNIT,
    DOMAIN,
    SUBENTRY_DEVICE,
    SUBENTRY_POINT,
)
from custom_components.modbus_server.device_rules import device_data
from custom_components.modbus_server.runtime import DeviceRuntime
from custom_components.modbus_server.table_store import ROW_ID, loaded_table_store, storage_key


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load the integration from custom_components/."""


def find_free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_data(port: int, **overrides: Any) -> dict[str, Any]:
    """Entry data of a server on 127.0.0.1."""
    return {
        CONF_NAME: "Plant",
        CONF_BIND_ADDRESS: "127.0.0.1",
        CONF_PORT: port,
        CONF_UNIT_ID: None,
        CONF_MAX_CONNECTIONS: 8,
        CONF_IDLE_TIMEOUT: 0,
        CONF_UNMAPPED: "error",
        CONF_ALLOWED_CLIENTS: [],
        CONF_READ_ONLY: False,
        **overrides,
    }


def point_data(area: str, address: int, data_type: str, **overrides: Any) -> dict[str, Any]:
    """Subentry data of one row."""
    return {
        "area": area,
        "address": address,
        "data_type": data_type,
        "name": "",
        "description": "",
        "scale": 1.0,
        "offset": 0.0,
        "word_order": "big",
        "byte_order": "big",
        "bit": None,
        "length": None,
        "writable": False,
        "unavailable_value": None,
        "unit": None,
        "entity_id": None,
        "attribute": None,
        **overrides,
    }


DEVICE_ID = "01DEVICE"
"""Subentry id of the one device of the `entry` fixture."""


def v2_server_data(port: int, **overrides: Any) -> dict[str, Any]:
    """Entry data of a version 2 server (unit id and unmapped policy are the device's)."""
    data = server_data(port, **overrides)
    data.pop(CONF_UNIT_ID)
    data.pop(CONF_UNMAPPED)
    return {CONF_UNKNOWN_UNIT: DEFAULT_UNKNOWN_UNIT, **data}


def device_subentry(
    device_id: str = DEVICE_ID, name: str = "Plant", **overrides: Any
) -> ConfigSubentryData:
    """A 'device' subentry (every unit id unless `unit_ids` is given)."""
    data = {**device_data(name=name, unit_ids=None), **overrides}
    return ConfigSubentryDataWithId(
        data=data,
        subentry_id=device_id,
        subentry_type=SUBENTRY_DEVICE,
        title=name,
        unique_id=None,
    )


def seed_tables(
    hass_storage: dict[str, Any], entry_id: str, tables: dict[str, list[dict[str, Any]]]
) -> None:
    """Write a server's table store file before setup (device id -> rows with their id)."""
    hass_storage[storage_key(entry_id)] = {
        "version": 1,
        "minor_version": 1,
        "key": storage_key(entry_id),
        "data": {"devices": tables},
    }


def rows_of(subentries: list[ConfigSubentryData]) -> list[dict[str, Any]]:
    """Table rows of v1-style point subentries (row id = subentry id)."""
    return [{**sub["data"], ROW_ID: sub["subentry_id"]} for sub in subentries]  # type: ignore[typeddict-item]


def v2_entry(
    hass_storage: dict[str, Any],
    port: int,
    rows: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    entry_id: str = "01PLANT",
    data: dict[str, Any] | None = None,
    **device: Any,
) -> MockConfigEntry:
    """A version 2 server entry with one device holding `rows` (not added to hass yet)."""
    seed_tables(hass_storage, entry_id, {DEVICE_ID: list(rows)})
    return MockConfigEntry(
        domain=DOMAIN,
        title="Plant",
        version=2,
        data=data if data is not None else v2_server_data(port),
        subentries_data=[device_subentry(**device)],
        entry_id=entry_id,
    )


def point_subentry(
    data: dict[str, Any], subentry_id: str, title: str = "row"
) -> ConfigSubentryData:
    """A 'point' subentry for MockConfigEntry(subentries_data=...)."""
    return ConfigSubentryData(
        data=data,
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_POINT,
        title=title,
        unique_id=None,
    )


@pytest.fixture
def port(socket_enabled: None) -> int:
    """A free loopback port (and real sockets allowed)."""
    return find_free_port()


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """The address table of `entry` (override per module)."""
    return []


@pytest.fixture
def entry(
    port: int, subentries: list[ConfigSubentryData], hass_storage: dict[str, Any]
) -> MockConfigEntry:
    """A v2 server entry on a free loopback port (not added to hass yet).

    One device (`DEVICE_ID`, every unit id) whose table holds the rows of `subentries`.
    """
    return v2_entry(hass_storage, port, rows_of(subentries))


async def async_set_up(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add a server entry to hass and set it up (its server listening)."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@asynccontextmanager
async def tcp_client(port: int) -> AsyncIterator[AsyncModbusTcpClient]:
    """A pymodbus client connected to the server on 127.0.0.1:`port`, closed on exit."""
    modbus = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=3)
    assert await modbus.connect()
    try:
        yield modbus
    finally:
        modbus.close()


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, entry: MockConfigEntry
) -> AsyncGenerator[MockConfigEntry]:
    """`entry` set up (server listening); unloaded again after the test."""
    yield await async_set_up(hass, entry)
    if entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def client(loaded_entry: MockConfigEntry, port: int) -> AsyncGenerator[AsyncModbusTcpClient]:
    """A pymodbus client connected to the running server of `loaded_entry`."""
    async with tcp_client(port) as modbus:
        yield modbus


def stored_rows(
    hass: HomeAssistant, entry_id: str = "01PLANT", device_id: str = DEVICE_ID
) -> dict[str, dict[str, Any]]:
    """Row id -> row of one device's table as stored now."""
    tables = loaded_table_store(hass, entry_id)
    assert tables is not None
    return {str(row[ROW_ID]): dict(row) for row in tables.rows(device_id)}


def only_device(entry: MockConfigEntry) -> DeviceRuntime:
    """The running device of a server with one device (a v1 entry migrates to one)."""
    (device,) = entry.runtime_data.devices.values()
    return device


async def async_edit_table(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    *,
    remove: tuple[str, ...] = (),
    add: tuple[dict[str, Any], ...] = (),
) -> None:
    """Remove rows by id and append rows (with ids) to the only device's table, and wait."""
    device_id = only_device(entry).settings.device_id
    tables = entry.runtime_data.tables
    rows = [row for row in tables.rows(device_id) if row[ROW_ID] not in remove]
    await tables.async_set_rows(device_id, [*rows, *add])
    await hass.async_block_till_done()
