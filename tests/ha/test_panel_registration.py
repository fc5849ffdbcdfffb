"""The table view is an admin-only sidebar panel, linked from the integration, served as-is."""

from __future__ import annotations

from homeassistant.components.frontend import DATA_PANELS
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.modbus_server.panel import FRONTEND_DIR, MODULE, PANEL_URL_PATH


async def test_panel_is_admin_only_and_linked_from_the_integration_page(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    panel = hass.data[DATA_PANELS][PANEL_URL_PATH].to_response()
    assert panel["require_admin"] is True
    assert panel["config_panel_domain"] == "modbus_server"
    assert panel["title"] == "Modbus table"
    assert panel["icon"] == "mdi:table-large"
    custom = panel["config"]["_panel_custom"]
    assert custom["name"] == "modbus-server-table"
    assert custom["embed_iframe"] is False
    assert custom["module_url"].startswith("/modbus_server_static/table-view.js?v=")


async def test_the_module_is_served_unchanged(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    url = hass.data[DATA_PANELS][PANEL_URL_PATH].to_response()["config"]["_panel_custom"][
        "module_url"
    ]
    client = await hass_client()
    response = await client.get(url)
    assert response.status == 200
    assert await response.read() == (FRONTEND_DIR / MODULE).read_bytes()
    assert 'customElements.define("modbus-server-table"' in await response.text()
