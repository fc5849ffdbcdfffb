"""The table view: a sidebar panel listing every server's devices and rows, live.

`async_setup_panel` (called once from the integration's `async_setup`) serves the panel's
one ES module (`frontend/table-view.js`, no build step), registers the admin-only panel
("Modbus table" in the sidebar, linked from the integration page through
`config_panel_domain`) and the websocket commands it talks to (`websocket.py`). Where the
rows live is known only to `source.py`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from homeassistant.components import panel_custom
from homeassistant.components.frontend import async_panel_exists
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant

from ..const import DOMAIN
from .websocket import async_register_commands

FRONTEND_DIR: Final = Path(__file__).parent / "frontend"
MODULE: Final = "table-view.js"
STATIC_URL: Final = f"/{DOMAIN}_static"
PANEL_URL_PATH: Final = "modbus-table"
WEBCOMPONENT: Final = "modbus-server-table"
SIDEBAR_TITLE: Final = "Modbus table"
SIDEBAR_ICON: Final = "mdi:table-large"


def _module_version() -> str:
    """A hash of the module: a changed file gets a new URL, so browsers may cache it."""
    return hashlib.sha256((FRONTEND_DIR / MODULE).read_bytes()).hexdigest()[:12]


async def async_setup_panel(hass: HomeAssistant) -> None:
    """Register the websocket commands, the static module and the admin-only panel."""
    async_register_commands(hass)
    if async_panel_exists(hass, PANEL_URL_PATH):
        return
    version = await hass.async_add_executor_job(_module_version)
    await hass.http.async_register_static_paths(
        [StaticPathConfig(STATIC_URL, str(FRONTEND_DIR), cache_headers=True)]
    )
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=WEBCOMPONENT,
        sidebar_title=SIDEBAR_TITLE,
        sidebar_icon=SIDEBAR_ICON,
        module_url=f"{STATIC_URL}/{MODULE}?v={version}",
        embed_iframe=False,
        require_admin=True,
        config_panel_domain=DOMAIN,
    )
