"""Fixtures for the Home Assistant integration tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
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
    CONF_UNMAPPED,
    DOMAIN,
    SUBENTRY_POINT,
)


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
def entry(port: int, subentries: list[ConfigSubentryData]) -> MockConfigEntry:
    """A server entry on a free loopback port (not added to hass yet)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Plant",
        data=server_data(port),
        subentries_data=subentries,
        entry_id="01PLANT",
    )


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, entry: MockConfigEntry
) -> AsyncGenerator[MockConfigEntry]:
    """`entry` set up (server listening); unloaded again after the test."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def client(loaded_entry: MockConfigEntry, port: int) -> AsyncGenerator[AsyncModbusTcpClient]:
    """A pymodbus client connected to the running server of `loaded_entry`."""
    modbus = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=3)
    assert await modbus.connect()
    yield modbus
    modbus.close()
