"""Actions: export a server's register map; set the value of an integration-owned point."""

from __future__ import annotations

import json
from typing import Any

import probatio
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, entity_registry as er, service

from .const import ATTR_VALUE, DOMAIN, SERVICE_EXPORT_REGISTER_MAP, SERVICE_SET_VALUE
from .models import ModbusServerConfigEntry
from .planning import row_settings
from .registermap import export_csv, export_json
from .table_store import loaded_table_store

ATTR_DEVICE = "device"
EXPORT_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        # A device of the server by name or id; optional when the server has one device.
        probatio.Optional(ATTR_DEVICE): cv.string,
    }
)
SET_VALUE_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_ENTITY_ID): cv.entity_ids,
        # bool, number or text: each entity coerces it to its point's type.
        probatio.Required(ATTR_VALUE): probatio.Any(bool, int, float, str),
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, in async_setup)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_EXPORT_REGISTER_MAP,
        _async_export_register_map,
        schema=EXPORT_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SET_VALUE, _async_set_value, schema=SET_VALUE_SCHEMA
    )


async def _async_export_register_map(call: ServiceCall) -> ServiceResponse:
    """Return a device's table as CSV text and as JSON (parsed, so templates can walk it)."""
    entry: ModbusServerConfigEntry = service.async_get_config_entry(
        call.hass, DOMAIN, call.data[ATTR_CONFIG_ENTRY_ID]
    )
    devices = entry.runtime_data.devices
    wanted = call.data.get(ATTR_DEVICE)
    if wanted is None and len(devices) == 1:
        device = next(iter(devices.values()))
    else:
        found = [
            device
            for device_id, device in devices.items()
            if wanted in (device_id, device.settings.name)
        ]
        if len(found) != 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="device_required",
                translation_placeholders={
                    "devices": ", ".join(d.settings.name for d in devices.values())
                },
            )
        device = found[0]
    points = device.register_map.points
    tables = loaded_table_store(call.hass, entry.entry_id)
    settings = row_settings(tables.rows(device.settings.device_id)) if tables else {}
    json_text = export_json(points, settings)
    return {
        "csv": export_csv(points, settings),
        "json": json_text,
        "table": json.loads(json_text),
    }


async def _async_set_value(call: ServiceCall) -> None:
    """Set integration-owned points (their entities) from Home Assistant."""
    hass = call.hass
    registry = er.async_get(hass)
    targets: list[Any] = []
    for entity_id in call.data[ATTR_ENTITY_ID]:
        entity = None
        registry_entry = registry.async_get(entity_id)
        if registry_entry is not None and registry_entry.config_entry_id is not None:
            entry = hass.config_entries.async_get_entry(registry_entry.config_entry_id)
            if entry is not None and entry.domain == DOMAIN and hasattr(entry, "runtime_data"):
                entity = entry.runtime_data.owned_entities.get(str(registry_entry.unique_id))
        if entity is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_owned_point",
                translation_placeholders={"entity_id": entity_id},
            )
        targets.append(entity)
    for entity in targets:
        await entity.async_set_owned_value(call.data[ATTR_VALUE])
