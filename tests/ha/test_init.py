"""Entry setup, unload and reload: the server starts, stops and frees its port."""

from __future__ import annotations

import errno
import socket
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.modbus_server.const import DOMAIN, SUBENTRY_POINT
from custom_components.modbus_server.helpers import try_bind

from .conftest import async_edit_table, only_device, point_data, server_data, tcp_client


def port_is_free(port: int) -> bool:
    try:
        try_bind("127.0.0.1", port)
    except OSError:
        return False
    return True


async def test_setup_listens_and_unload_frees_the_port(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: int
) -> None:
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert not port_is_free(port)
    runtime = loaded_entry.runtime_data
    assert runtime.server.is_serving

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    # Freed before async_unload returned, not some time later.
    assert port_is_free(port)


async def test_unload_closes_connected_clients(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: int
) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, reconnect_delay=0)
    assert await client.connect()
    try:
        await hass.async_block_till_done()
        server = loaded_entry.runtime_data.server
        assert len(server.connections) == 1
        assert await hass.config_entries.async_unload(loaded_entry.entry_id)
        assert server.connections == []
    finally:
        client.close()


async def test_reload_with_a_connected_client_never_hits_address_in_use(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: int
) -> None:
    """Every reload happens while a client is connected and has just been served."""
    for _ in range(10):
        client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, reconnect_delay=0)
        assert await client.connect()
        try:
            # Unmapped under the "error" policy: an exception response, but a served request.
            response = await client.read_holding_registers(0, count=1)
            assert response.exception_code == 2
            server = loaded_entry.runtime_data.server
            assert len(server.connections) == 1
            assert await hass.config_entries.async_reload(loaded_entry.entry_id)
            assert loaded_entry.state is ConfigEntryState.LOADED
            assert server.connections == []  # the old server closed the client ...
            assert loaded_entry.runtime_data.server is not server  # ... a new one listens
            assert loaded_entry.runtime_data.server.is_serving
        finally:
            client.close()


async def test_device_created_with_version(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, loaded_entry.entry_id), loaded_entry.entry_id
    )
    assert device is not None
    assert device.name == "Plant"
    assert device.sw_version == "0.1.0"
    assert device.entry_type is None  # a hub device: the devices behind it link to it


async def test_port_taken_retries_setup(hass: HomeAssistant, port: int) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Plant", data=server_data(port))
    entry.add_to_hass(hass)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        await hass.config_entries.async_setup(entry.entry_id)
        assert entry.state is ConfigEntryState.SETUP_RETRY
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.EADDRINUSE, "port_in_use"),
        (errno.EADDRNOTAVAIL, "address_not_available"),
        (errno.EINVAL, "cannot_bind"),
    ],
)
async def test_bind_failures_at_setup_are_named_as_in_the_form(
    hass: HomeAssistant, port: int, code: int, reason: str
) -> None:
    """Setup and the server form share one errno mapping (bind_error_key)."""
    entry = MockConfigEntry(domain=DOMAIN, title="Plant", data=server_data(port))
    entry.add_to_hass(hass)
    failure = OSError(code, "bind failed")
    with patch("custom_components.modbus_server.transports.Server.start", side_effect=failure):
        await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == reason
    await hass.config_entries.async_unload(entry.entry_id)


async def test_permission_denied_raises_repair_issue(
    hass: HomeAssistant, port: int, issue_registry: ir.IssueRegistry
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Plant", data=server_data(port))
    entry.add_to_hass(hass)
    denied = OSError(errno.EACCES, "Permission denied")
    with patch("custom_components.modbus_server.transports.Server.start", side_effect=denied):
        await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    issue = issue_registry.async_get_issue(DOMAIN, f"permission_denied_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["port"] == str(port)

    # Fixed (here: the patch is gone) -> the next setup clears the issue.
    assert await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, f"permission_denied_{entry.entry_id}") is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_row_added_to_the_store_is_served_without_a_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    before = loaded_entry.runtime_data
    row = {**point_data("holding_register", 0, "int16"), "id": "new"}
    await async_edit_table(hass, loaded_entry, add=(row,))
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is before
    assert [p.key for p in only_device(loaded_entry).register_map.points] == ["new"]


async def test_title_change_does_not_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    before = loaded_entry.runtime_data
    hass.config_entries.async_update_entry(loaded_entry, title="Renamed")
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data is before


async def test_invalid_table_fails_setup(hass: HomeAssistant, port: int) -> None:
    from homeassistant.config_entries import ConfigSubentryData  # noqa: PLC0415

    rows = [
        ConfigSubentryData(
            data=point_data("holding_register", 0, "int32"),
            subentry_type=SUBENTRY_POINT,
            title="a",
            unique_id=None,
        ),
        ConfigSubentryData(
            data=point_data("holding_register", 1, "int16"),
            subentry_type=SUBENTRY_POINT,
            title="b",
            unique_id=None,
        ),
    ]
    entry = MockConfigEntry(
        domain=DOMAIN, title="Plant", data=server_data(port), subentries_data=rows
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert port_is_free(port)


@pytest.mark.parametrize("read_only", [True])
async def test_read_only_server_has_no_write_callback(
    hass: HomeAssistant, port: int, read_only: bool
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title="Plant", data=server_data(port, read_only=read_only)
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.runtime_data.server.devices[0].on_write is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_device_identification_names_the_entry_and_version(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, port: int
) -> None:
    async with tcp_client(port) as client:
        basic = await client.read_device_information(read_code=1)
        assert basic.information[0] == b"Home Assistant"
        assert basic.information[1] == b"modbus_server"
        assert basic.information[2] == b"0.1.0"
        regular = await client.read_device_information(read_code=2)
        assert regular.information[4] == b"Plant"  # product name = the entry's name
