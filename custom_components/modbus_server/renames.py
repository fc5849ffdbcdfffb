"""Rows follow their entities: an entity id renamed in the registry is renamed in the table.

A row names its source entity by id. Without this, renaming `sensor.boiler` to
`sensor.boiler_flow` in Home Assistant would silently turn the row unavailable (and a PLC would
read the unavailable value from then on). As core's `prometheus` does, listen to the entity
registry: an `update` whose changes hold `entity_id` is a rename (the changes carry the old id,
the event the new one). A removed entity is not followed: its rows stay and the repair issue
(issues.py) names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .const import CONF_ENTITY_ID


def renamed_rows(
    rows: Iterable[Mapping[str, Any]], old: str, new: str
) -> tuple[list[dict[str, Any]], int]:
    """The rows with entity id `old` renamed to `new`, and how many rows changed."""
    result = [dict(row) for row in rows]
    changed = 0
    for row in result:
        if row.get(CONF_ENTITY_ID) == old:
            row[CONF_ENTITY_ID] = new
            changed += 1
    return result, changed


@callback
def async_follow_renames(
    hass: HomeAssistant, on_rename: Callable[[str, str], None]
) -> CALLBACK_TYPE:
    """Call `on_rename(old_id, new_id)` on every entity id rename; returns the stopper."""

    @callback
    def _registry_updated(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        data = event.data
        if data["action"] != "update":
            return
        old = data["changes"].get("entity_id")
        if isinstance(old, str) and old != data["entity_id"]:
            on_rename(old, data["entity_id"])

    return hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, _registry_updated)
