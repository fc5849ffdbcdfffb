"""Diagnostics download: settings, address table, counters and connections."""

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
        "table": json.loads(export_json(runtime.register_map.points))["points"],
        "subentries": {
            subentry_id: subentry.title for subentry_id, subentry in entry.subentries.items()
        },
        "counters": server.stats.as_dict(),
        # points applied / failed / timed out / skipped as unchanged; writes refused as busy
        "writes": dict(runtime.bridge.counters),
        # points whose source has not reported within the row's stale_after (read unavailable)
        "stale_points": len(runtime.bridge.staleness.stale),
        "connections": [client.as_dict() for client in server.connections],
        "monitor": {
            "requests_per_minute": runtime.monitor.snapshot.requests_per_minute,
            "last_client": runtime.monitor.snapshot.last_client,
        },
        "missing_entities": runtime.missing_entities,
    }
