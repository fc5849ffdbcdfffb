"""Add many: one row per picked entity at consecutive free addresses, shown before adding."""

from __future__ import annotations

from typing import Any

import probatio
from homeassistant.config_entries import SubentryFlowResult
from homeassistant.helpers.selector import BooleanSelector, EntitySelector, EntitySelectorConfig

from ..bindings import supported_domains
from ..const import CONF_ENTITY_ID, CONF_WRITABLE
from ..planning import plan_bulk
from .common import PreviewedTableFlow


class BulkSubentryFlow(PreviewedTableFlow):
    """Map many entities at once: consecutive addresses per area, default types, a preview."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick the entities and whether writable areas are preferred."""
        if self._device_id is None:
            return await self.async_step_device()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            prefer_writable = bool(user_input[CONF_WRITABLE])
            points, unsupported = plan_bulk(
                self._existing(),
                user_input[CONF_ENTITY_ID],
                prefer_writable,
                state_of=self._state,
                safety_relevant=self._safety_relevant,
            )
            if unsupported:
                errors[CONF_ENTITY_ID] = "unsupported_entities"
                placeholders["entities"] = ", ".join(unsupported)
            else:
                self._points = points
                if prefer_writable:
                    self._kept_read_only = frozenset(
                        str(point.source)
                        for point in points
                        if point.source and self._safety_relevant(point.source)
                    )
                return await self.async_step_confirm()
        return self.async_show_form(
            step_id="user",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_ENTITY_ID): EntitySelector(
                        EntitySelectorConfig(domain=supported_domains(), multiple=True)
                    ),
                    probatio.Required(CONF_WRITABLE, default=False): BooleanSelector(),
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )
