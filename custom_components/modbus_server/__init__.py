"""Modbus Server: Home Assistant as a Modbus TCP server."""

from __future__ import annotations

from homeassistant.const import CONF_NAME, CONF_PORT, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.typing import ConfigType
from homeassistant.loader import async_get_integration

from .bridge import Bridge
from .const import (
    CONF_ALLOWED_CLIENTS,
    CONF_BIND_ADDRESS,
    CONF_IDLE_TIMEOUT,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_CONNECTIONS_PER_HOST,
    CONF_READ_ONLY,
    CONF_STALE_AFTER,
    CONF_UNIT_ID,
    CONF_UNMAPPED,
    CONF_WRITE_MODE,
    CONF_WRITE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS_PER_HOST,
    DEFAULT_WRITE_TIMEOUT,
    DOMAIN,
    ISSUE_PERMISSION_DENIED,
    LOGGER,
    SUBENTRY_POINT,
    WRITE_MODE_DEFAULT,
)
from .helpers import (
    bind_error_key,
    bind_hosts,
    entry_points,
    entry_signature,
    identification_text,
    point_from_data,
    point_title,
)
from .issues import async_setup_missing_entities_check
from .modbus import DeviceIdentification, Server
from .models import ModbusServerConfigEntry, ModbusServerData
from .monitor import ServerMonitor
from .owned import OWNED_PLATFORMS, OwnedStore
from .panel import async_setup_panel
from .panel.activity import record_reads
from .registermap import MapValidationError, RegisterMap, UnmappedPolicy
from .renames import async_follow_renames, renamed_rows
from .services import async_setup_services

PLATFORMS = [Platform.BINARY_SENSOR, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions and the table view."""
    async_setup_services(hass)
    await async_setup_panel(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> bool:
    """Compile the table, start the server and create the device and its entities."""
    data = entry.data
    try:
        register_map = RegisterMap(
            entry_points(entry), unmapped=UnmappedPolicy(data[CONF_UNMAPPED])
        )
    except MapValidationError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_table",
            translation_placeholders={"errors": "; ".join(str(e) for e in err.errors)},
        ) from err

    owned = OwnedStore(register_map)
    read_only = bool(data[CONF_READ_ONLY])
    bridge = Bridge(
        hass,
        register_map,
        owned,
        read_only=read_only,
        write_timeout=float(data.get(CONF_WRITE_TIMEOUT, DEFAULT_WRITE_TIMEOUT)),
        write_modes={
            subentry_id: subentry.data.get(CONF_WRITE_MODE, WRITE_MODE_DEFAULT)
            for subentry_id, subentry in entry.subentries.items()
        },
        # The server entry is its one device: its default, each row's override.
        stale_after=float(data.get(CONF_STALE_AFTER) or 0) or None,
        row_stale_after={
            subentry_id: subentry.data.get(CONF_STALE_AFTER)
            for subentry_id, subentry in entry.subentries.items()
        },
        entry_id=entry.entry_id,
    )
    integration = await async_get_integration(hass, DOMAIN)
    version = str(integration.version or "0")
    server = Server(
        host=bind_hosts(data[CONF_BIND_ADDRESS]),
        port=int(data[CONF_PORT]),
        on_read=record_reads(hass, entry, bridge.on_read),  # "last read" of the table view
        # Read-only: the server itself answers every write with IllegalFunction (01).
        on_write=None if read_only else bridge.on_write,
        unit_id=data.get(CONF_UNIT_ID),
        max_connections=int(data[CONF_MAX_CONNECTIONS]),
        max_connections_per_host=int(
            data.get(CONF_MAX_CONNECTIONS_PER_HOST, DEFAULT_MAX_CONNECTIONS_PER_HOST)
        ),
        idle_timeout=float(data[CONF_IDLE_TIMEOUT]) or None,
        allowed_clients=data.get(CONF_ALLOWED_CLIENTS) or None,
        device_identification=DeviceIdentification(
            vendor_name="Home Assistant",
            product_code=DOMAIN,
            revision=version,
            product_name=identification_text(data.get(CONF_NAME, entry.title)),
            model_name="Modbus TCP server",
            user_application_name=identification_text(entry.title),
        ),
    )
    issue_id = f"{ISSUE_PERMISSION_DENIED}_{entry.entry_id}"
    try:
        await server.start()
    except OSError as err:
        placeholders = {"name": entry.title, "port": str(data[CONF_PORT]), "error": str(err)}
        key = bind_error_key(err)
        if key == "permission_denied":
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=True,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_PERMISSION_DENIED,
                data={"entry_id": entry.entry_id},
                translation_placeholders=placeholders,
            )
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="permission_denied",
                translation_placeholders=placeholders,
            ) from err
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders=placeholders,
        ) from err
    ir.async_delete_issue(hass, DOMAIN, issue_id)

    monitor = ServerMonitor(hass, server, entry.entry_id)
    entry.runtime_data = ModbusServerData(
        server=server,
        bridge=bridge,
        register_map=register_map,
        owned=owned,
        monitor=monitor,
        signature=entry_signature(entry),
    )
    # From here on a failure must not leave the port bound.
    entry.async_on_unload(server.stop)
    entry.async_on_unload(bridge.async_start())
    entry.async_on_unload(monitor.async_start())

    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="Home Assistant",
        model="Modbus TCP server",
        sw_version=version,
    )

    _async_remove_stale_entities(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    async_setup_missing_entities_check(hass, entry)
    entry.async_on_unload(
        async_follow_renames(hass, lambda old, new: _async_rename_in_table(hass, entry, old, new))
    )
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    LOGGER.debug("%s listening on %s", entry.title, server.addresses)
    return True


@callback
def _async_remove_stale_entities(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> None:
    """Remove entities of owned points that were deleted or moved to another area.

    Owned-point entities belong to the entry (not to their subentry) so that they can share
    the server's device, which a device registry only allows within one subentry.
    """
    expected = {
        (OWNED_PLATFORMS[point.area], point.key)
        for point in entry.runtime_data.register_map.points
        if point.source is None
    }
    registry = er.async_get(hass)
    diagnostic_prefix = f"{entry.entry_id}_"
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.unique_id.startswith(diagnostic_prefix):
            continue
        if (entity.domain, entity.unique_id) not in expected:
            registry.async_remove(entity.entity_id)


@callback
def _async_rename_in_table(
    hass: HomeAssistant, entry: ModbusServerConfigEntry, old: str, new: str
) -> None:
    """Point the rows of a renamed entity at its new id (the update listener reloads once)."""
    for subentry in list(entry.subentries.values()):
        if subentry.subentry_type != SUBENTRY_POINT:
            continue
        (data,), changed = renamed_rows([subentry.data], old, new)
        if changed:
            hass.config_entries.async_update_subentry(
                entry, subentry, data=data, title=point_title(point_from_data(data))
            )


async def _async_update_listener(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> None:
    """Reload once when the settings or the address table changed (not for titles)."""
    runtime = entry.runtime_data
    if runtime.reload_scheduled or runtime.signature == entry_signature(entry):
        return
    runtime.reload_scheduled = True
    # Not inline: listeners start eagerly, and a flow adding many rows calls us once per row.
    # Deferring to the next loop iteration lets the whole change land before the one reload.
    hass.loop.call_soon(hass.config_entries.async_schedule_reload, entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> bool:
    """Unload the entities, then stop the server: every client is closed, the port is free."""
    unload_ok = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unload_ok:
        await entry.runtime_data.server.stop()
    return unload_ok


async def async_remove_entry(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> None:
    """Forget the entry's repair issues."""
    for issue in list(ir.async_get(hass).issues.values()):
        if issue.domain == DOMAIN and issue.issue_id.endswith(entry.entry_id):
            ir.async_delete_issue(hass, DOMAIN, issue.issue_id)
