"""Diagnostics download: settings, devices and their tables, counters and connections."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant

from .models import ModbusServerConfigEntry
from .registermap import export_json


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ModbusServerConfigEntry
) -> dict[str, Any]:
    """Everything needed to understand what a client sees; no secrets exist to redact.

    Client addresses are shown: on a Modbus network they are what one debugs with.
    """
    runtime = entry.runtime_data
    server = runtime.server
    return {
        "settings": dict(entry.data),
        "listening": [list(address) for address in server.addresses],
        "devices": {
            device_id: {
                "name": device.settings.name,
                "unit_ids": None
                if device.settings.unit_ids is None
                else sorted(device.settings.unit_ids),
                "unmapped": str(device.settings.unmapped),
                "read_only": device.settings.read_only,
                "stale_after": device.settings.stale_after,
                "table": json.loads(export_json(device.register_map.points))["points"],
                # points applied / failed / timed out / skipped as unchanged; refused as busy
                "writes": dict(device.reader.counters),
                # points whose source has not reported within their stale_after (read unavailable);
                # for a profile device: its slots without a current value
                "stale_points": len(
                    device.profile.stale
                    if device.profile is not None
                    else device.bridge.staleness.stale
                ),
                # a profile device: its profile and slots (a table device has neither)
                **(
                    {"profile": device.settings.profile, "slots": dict(device.settings.slots)}
                    if device.settings.profile is not None
                    else {}
                ),
            }
            for device_id, device in runtime.devices.items()
        },
        "counters": server.stats.as_dict(),
        "connections": [client.as_dict() for client in server.connections],
        "monitor": {
            "requests_per_minute": runtime.monitor.snapshot.requests_per_minute,
            "last_client": runtime.monitor.snapshot.last_client,
        },
        "missing_entities": runtime.missing_entities,
    }
