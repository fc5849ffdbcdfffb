"""Diagnostics download: settings, devices and their tables, counters and connections."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_TLS_CA_KEY, CONF_TLS_CERTIFICATE, CONF_TLS_CLIENT_CA, CONF_TLS_KEY
from .models import ModbusServerConfigEntry
from .planning import row_settings
from .registermap import export_json
from .tls_pem import describe_certificates

TO_REDACT = {CONF_TLS_KEY, CONF_TLS_CA_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ModbusServerConfigEntry
) -> dict[str, Any]:
    """What explains what a client sees; the TLS private keys (server, generated CA) redacted.

    Client addresses are shown: on a Modbus network they are what one debugs with.
    Certificates are shown as their subjects and expiry, not as PEM.
    """
    runtime = entry.runtime_data
    server = runtime.server
    settings = async_redact_data(dict(entry.data), TO_REDACT)
    for key in (CONF_TLS_CERTIFICATE, CONF_TLS_CLIENT_CA):
        if key in settings:
            settings[key] = describe_certificates(str(settings[key]))
    return {
        "settings": settings,
        "transport": runtime.listener.diagnostics(),
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
                "table": json.loads(
                    export_json(
                        device.register_map.points,
                        row_settings(runtime.tables.rows(device_id)),
                    )
                )["points"],
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
        "counters": runtime.listener.stats.as_dict(),
        "connections": [client.as_dict() for client in runtime.listener.connections],
        "monitor": {
            "requests_per_minute": runtime.monitor.snapshot.requests_per_minute,
            "last_client": runtime.monitor.snapshot.last_client,
        },
        "missing_entities": runtime.missing_entities,
    }
