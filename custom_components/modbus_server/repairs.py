"""Repair flow: a server refused its privileged port gets a new one."""

from __future__ import annotations

from typing import Any

import probatio
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)

from .const import CONF_BIND_ADDRESS, DOMAIN
from .helpers import UNPRIVILEGED_PORT, bind_error_key, next_free_port, try_bind


class PortRepairFlow(RepairsFlow):
    """Pick an unprivileged port; the entry is set up again with it."""

    def __init__(self, entry_id: str) -> None:
        """Remember which server entry to fix."""
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Start with the port form (the manager passes the issue id in, not a port)."""
        return await self.async_step_port()

    async def async_step_port(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Ask for the port (pre-filled with a free one), test-bind it, then reload."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        bind = entry.data[CONF_BIND_ADDRESS]
        taken = {
            int(other.data[CONF_PORT])
            for other in self.hass.config_entries.async_entries(DOMAIN)
            if other.entry_id != entry.entry_id and CONF_PORT in other.data
        }
        errors: dict[str, str] = {}
        if user_input is not None:
            port = int(user_input[CONF_PORT])
            if port in taken:
                errors[CONF_PORT] = "port_configured"
            else:
                try:
                    await self.hass.async_add_executor_job(try_bind, bind, port)
                except OSError as err:
                    errors[CONF_PORT] = bind_error_key(err)
            if not errors:
                self.hass.config_entries.async_update_entry(
                    entry, data={**entry.data, CONF_PORT: port}
                )
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return self.async_create_entry(data={})
        suggestion = await self.hass.async_add_executor_job(
            next_free_port, bind, UNPRIVILEGED_PORT, taken
        )
        return self.async_show_form(
            step_id="port",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_PORT, default=suggestion or UNPRIVILEGED_PORT): (
                        NumberSelector(
                            NumberSelectorConfig(
                                min=1, max=65535, step=1, mode=NumberSelectorMode.BOX
                            )
                        )
                    )
                }
            ),
            errors=errors,
            description_placeholders={"name": entry.title, "port": str(entry.data[CONF_PORT])},
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The only fixable issue is a refused port."""
    assert data is not None
    return PortRepairFlow(str(data["entry_id"]))
