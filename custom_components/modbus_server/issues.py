"""Repair issue: mapped entities that no longer exist."""

from __future__ import annotations

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.start import async_at_started

from .const import DOMAIN, ISSUE_MISSING_ENTITIES
from .helpers import split_source
from .models import ModbusServerConfigEntry


def missing_issue_id(entry_id: str) -> str:
    """Issue id of an entry's missing-entities issue."""
    return f"{ISSUE_MISSING_ENTITIES}_{entry_id}"


@callback
def async_missing_entities(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> list[str]:
    """Mapped entity ids that are neither registered nor have a state."""
    registry = er.async_get(hass)
    missing: set[str] = set()
    for point in entry.runtime_data.points():
        entity_id, _attribute = split_source(point.source)
        if entity_id is None:
            continue
        if registry.async_get(entity_id) is None and hass.states.get(entity_id) is None:
            missing.add(entity_id)
    return sorted(missing)


@callback
def async_update_missing_entities_issue(
    hass: HomeAssistant, entry: ModbusServerConfigEntry
) -> None:
    """Create, update or delete the issue to match the current table."""
    missing = async_missing_entities(hass, entry)
    entry.runtime_data.missing_entities = missing
    issue_id = missing_issue_id(entry.entry_id)
    if not missing:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_MISSING_ENTITIES,
        translation_placeholders={
            "name": entry.title,
            "entities": ", ".join(missing),
        },
    )


@callback
def async_setup_missing_entities_check(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> None:
    """Check once Home Assistant has started, and again when the entity registry changes."""

    @callback
    def _check(_hass: HomeAssistant | None = None) -> None:
        async_update_missing_entities_issue(hass, entry)

    @callback
    def _registry_updated(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        _check()

    entry.async_on_unload(async_at_started(hass, _check))
    entry.async_on_unload(
        hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, _registry_updated)
    )
