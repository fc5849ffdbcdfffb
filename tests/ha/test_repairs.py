"""The permission-denied repair: pick another port and the server comes up on it."""

from __future__ import annotations

import errno
from unittest.mock import patch

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.modbus_server.const import DOMAIN

from .conftest import find_free_port, server_data


async def test_fix_flow_moves_the_server_to_a_free_port(
    hass: HomeAssistant, port: int, issue_registry: ir.IssueRegistry
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    other_port = find_free_port()
    MockConfigEntry(domain=DOMAIN, title="Other", data=server_data(other_port)).add_to_hass(hass)
    entry = MockConfigEntry(domain=DOMAIN, title="Plant", data=server_data(502))
    entry.add_to_hass(hass)
    with patch(
        "custom_components.modbus_server.transports.Server.start",
        side_effect=OSError(errno.EACCES, "Permission denied"),
    ):
        await hass.config_entries.async_setup(entry.entry_id)
    issue_id = f"permission_denied_{entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable

    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, context={"issue_id": issue_id})
    assert result["type"] is FlowResultType.FORM
    assert result["description_placeholders"] == {"name": "Plant", "port": "502"}

    # another entry's port is refused, and so is one that cannot be bound
    result = await manager.async_configure(result["flow_id"], {"port": other_port})
    assert result["errors"] == {"port": "port_configured"}
    with patch(
        "custom_components.modbus_server.repairs.try_bind",
        side_effect=OSError(errno.EACCES, "Permission denied"),
    ):
        result = await manager.async_configure(result["flow_id"], {"port": 80})
    assert result["errors"] == {"port": "permission_denied"}

    result = await manager.async_configure(result["flow_id"], {"port": port})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.data["port"] == port
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.server.port == port
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_fix_flow_for_a_removed_entry_aborts(
    hass: HomeAssistant, port: int, issue_registry: ir.IssueRegistry
) -> None:
    from custom_components.modbus_server.repairs import async_create_fix_flow  # noqa: PLC0415

    flow = await async_create_fix_flow(hass, "permission_denied_x", {"entry_id": "gone"})
    flow.hass = hass
    result = await flow.async_step_init()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_removed"
