"""Modbus Server: Home Assistant as a Modbus server (TCP, TLS, UDP, RTU over TCP or serial)."""

from __future__ import annotations

import shutil
from functools import partial

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_PORT, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.typing import ConfigType
from homeassistant.loader import async_get_integration

from . import migration
from .const import (
    CONF_READ_ONLY,
    CONF_TLS_CERTIFICATE,
    CONF_TLS_CLIENT_CA,
    CONF_TLS_KEY,
    CONF_TLS_NULL_ROLE,
    CONF_WRITE_TIMEOUT,
    DEFAULT_TLS_NULL_ROLE,
    DEFAULT_WRITE_TIMEOUT,
    DOMAIN,
    ISSUE_PERMISSION_DENIED,
    LOGGER,
    SUBENTRY_DEVICE,
    TRANSPORT_TLS,
)
from .device_rules import units_text
from .expiry import async_setup_certificate_expiry, expiry_issue_ids
from .helpers import entry_signature
from .issues import async_setup_missing_entities_check, async_update_missing_entities_issue
from .modbus import Rights
from .models import ModbusServerConfigEntry, ModbusServerData, signal_tables
from .monitor import ServerMonitor
from .owned import OWNED_PLATFORMS
from .panel import async_setup_panel
from .panel.activity import ServerActivity, activity_of_server
from .pki import CertificateDownloadView, entry_folder
from .registermap import MapValidationError
from .renames import async_follow_renames, renamed_rows
from .runtime import DeviceRuntime, DeviceSettings, ServerRuntime, compile_table
from .services import async_setup_services
from .table_store import TableStore, async_get_table_store, forget_table_store
from .transports import (
    MODELS,
    Listener,
    build_listener,
    start_error_key,
    tls_context,
    transport_of,
)

PLATFORMS = [Platform.BINARY_SENSOR, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions and the table view."""
    async_setup_services(hass)
    await async_setup_panel(hass)
    hass.http.register_view(CertificateDownloadView())
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> bool:
    """Bring a stored entry to the current model (v1: rows as subentries -> v2: devices)."""
    return await migration.async_migrate(hass, entry)


async def async_setup_entry(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> bool:
    """Compile every device's table, start the server and create the devices and entities."""
    data = entry.data
    integration = await async_get_integration(hass, DOMAIN)
    version = str(integration.version or "0")
    tables = await async_get_table_store(hass, entry.entry_id)
    activity = activity_of_server(hass, entry)
    runtimes = [
        await _async_build_device(
            hass,
            entry,
            subentry,
            DeviceSettings.from_data(subentry.subentry_id, subentry.data, revision=version),
            tables=tables,
            activity=activity,
        )
        for subentry in entry.get_subentries_of_type(SUBENTRY_DEVICE)
    ]
    listener = await _async_build_listener(hass, entry)
    server = listener.server
    runtime = ServerRuntime(server)
    try:
        for device in runtimes:
            runtime.async_set_device(device)
    except ValueError as err:  # two devices claim a unit id (the flows refuse that)
        runtime.async_stop()
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="unit_id_clash",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.async_on_unload(runtime.async_stop)
    issue_id = f"{ISSUE_PERMISSION_DENIED}_{entry.entry_id}"
    try:
        await listener.start()
    except OSError as err:
        placeholders = {
            "name": entry.title,
            "port": str(data.get(CONF_PORT, "")),
            "where": listener.where,
            "error": str(err),
        }
        key = start_error_key(listener.transport, err)
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

    monitor = ServerMonitor(hass, listener, entry.entry_id)
    entry.runtime_data = ModbusServerData(
        server=server,
        listener=listener,
        runtime=runtime,
        tables=tables,
        monitor=monitor,
        signature=entry_signature(entry),
    )
    # From here on a failure must not leave the port bound (or the serial line open).
    entry.async_on_unload(listener.stop)
    entry.async_on_unload(monitor.async_start())
    entry.async_on_unload(activity.async_follow_writes(hass, entry.entry_id, runtime))

    devices = dr.async_get(hass)
    devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="Home Assistant",
        model=MODELS[listener.transport],
        sw_version=version,
    )
    for device in runtimes:
        _async_register_device(hass, entry, device)

    _async_remove_stale_entities(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    async_setup_missing_entities_check(hass, entry)
    entry.async_on_unload(
        async_follow_renames(hass, lambda old, new: _async_rename_in_table(hass, entry, old, new))
    )
    entry.async_on_unload(
        tables.async_add_listener(
            lambda device_id: _async_table_changed(hass, entry, device_id, version)
        )
    )
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    if transport_of(data) == TRANSPORT_TLS:
        entry.async_on_unload(async_setup_certificate_expiry(hass, entry))
    else:
        for issue_id in expiry_issue_ids(entry.entry_id):  # no longer TLS: nothing expires
            ir.async_delete_issue(hass, DOMAIN, issue_id)
    LOGGER.debug("%s serving on %s", entry.title, listener.where)
    return True


async def _async_build_listener(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> Listener:
    """The entry's transport, not started (ConfigEntryError: its settings cannot run)."""
    data = entry.data
    try:
        tls = None
        if transport_of(data) == TRANSPORT_TLS:
            tls = await hass.async_add_executor_job(
                tls_context,
                data[CONF_TLS_CERTIFICATE],
                data[CONF_TLS_KEY],
                data[CONF_TLS_CLIENT_CA],
            )
        return build_listener(data, tls)
    except (OSError, ValueError, KeyError) as err:  # ssl.SSLError is an OSError
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_transport",
            translation_placeholders={"name": entry.title, "error": str(err)},
        ) from err


async def _async_build_device(
    hass: HomeAssistant,
    entry: ModbusServerConfigEntry,
    subentry: ConfigSubentry,
    settings: DeviceSettings,
    *,
    tables: TableStore,
    activity: ServerActivity,
    previous: DeviceRuntime | None = None,
) -> DeviceRuntime:
    """A device's runtime from its settings and its stored table (ConfigEntryError: bad table).

    The table is compiled in the executor: the event loop goes on serving requests meanwhile.
    `previous`: the device's running runtime (a live edit), whose unchanged rows are reused.
    """
    device_id = subentry.subentry_id
    running = None if previous is None else previous.table
    try:
        table = await hass.async_add_executor_job(
            compile_table, tables.rows(device_id), settings.unmapped, running
        )
        return DeviceRuntime(
            hass,
            settings,
            table,
            previous=previous,
            server_read_only=bool(entry.data[CONF_READ_ONLY]),
            write_timeout=float(entry.data.get(CONF_WRITE_TIMEOUT, DEFAULT_WRITE_TIMEOUT)),
            entry_id=entry.entry_id,
            wrap_read=lambda on_read: activity.device(device_id).recording(on_read),
            tls_null_role=_tls_null_role(entry),
        )
    except (MapValidationError, ValueError, KeyError) as err:
        errors = err.errors if isinstance(err, MapValidationError) else [err]
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_table",
            translation_placeholders={
                "device": subentry.title,
                "errors": "; ".join(str(e) for e in errors),
            },
        ) from err


def _tls_null_role(entry: ModbusServerConfigEntry) -> Rights | None:
    """A TLS server's NULL-role rights; None for every other transport (no role checks)."""
    if transport_of(entry.data) != TRANSPORT_TLS:
        return None
    return Rights(entry.data.get(CONF_TLS_NULL_ROLE, DEFAULT_TLS_NULL_ROLE))


async def _async_apply_device(
    hass: HomeAssistant, entry: ModbusServerConfigEntry, device_id: str, revision: str
) -> DeviceRuntime | None:
    """Build a changed or new device once and serve it live; None when not applied.

    The one path of every live change (its settings, its table): changes apply in the order
    they were made (`ServerRuntime.async_apply`), each built from the device's settings and
    table as they are when its turn comes; the running device's owned values are handed on
    and connections stay open. A refused table or unit id clash is logged.
    """
    data = entry.runtime_data

    async def build() -> DeviceRuntime:
        subentry = entry.subentries[device_id]
        return await _async_build_device(
            hass,
            entry,
            subentry,
            DeviceSettings.from_data(device_id, subentry.data, revision=revision),
            tables=data.tables,
            activity=activity_of_server(hass, entry),
            previous=data.devices.get(device_id),
        )

    title = entry.subentries[device_id].title
    try:
        device = await data.runtime.async_apply(device_id, build)
    except (ConfigEntryError, ValueError) as err:
        LOGGER.error("%s: device %s not applied: %s", entry.title, title, err)
        return None
    if device is not None:
        _async_after_change(hass, entry)
    return device


@callback
def _async_register_device(
    hass: HomeAssistant, entry: ModbusServerConfigEntry, device: DeviceRuntime
) -> None:
    """The Home Assistant device of a Modbus device, behind the server's device."""
    settings = device.settings
    devices = dr.async_get(hass)
    server = devices.async_get_device_by_identifier((DOMAIN, entry.entry_id), entry.entry_id)
    devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        config_subentry_id=settings.device_id,
        identifiers={(DOMAIN, settings.device_id)},
        name=settings.name,
        manufacturer=settings.identification.vendor_name,
        # The device list shows the model: with the unit ids a device is told apart at once.
        model=f"{settings.identification.model_name}, {units_text(settings.unit_ids)}",
        via_device_id=None if server is None else server.id,
    )


@callback
def _async_after_change(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> None:
    """Entities, repair issue and table view follow a device change."""
    _async_remove_stale_entities(hass, entry)
    async_update_missing_entities_issue(hass, entry)
    async_dispatcher_send(hass, signal_tables(entry.entry_id))


@callback
def _async_table_changed(
    hass: HomeAssistant, entry: ModbusServerConfigEntry, device_id: str, revision: str
) -> None:
    """A device's table was edited: swap in its new table, connections stay open."""
    if device_id not in entry.subentries or device_id not in entry.runtime_data.devices:
        return
    entry.async_create_task(
        hass, _async_apply_device(hass, entry, device_id, revision), "modbus_server table edit"
    )


@callback
def _async_remove_stale_entities(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> None:
    """Remove entities of owned rows that were deleted or moved to another area."""
    expected = {
        (OWNED_PLATFORMS[point.area], point.key)
        for point in entry.runtime_data.points()
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
    """Point the rows of a renamed entity at its new id (each device's table is swapped)."""
    tables = entry.runtime_data.tables
    for device_id in tables.device_ids:
        rows, changed = renamed_rows(tables.rows(device_id), old, new)
        if changed:
            entry.async_create_task(
                hass, tables.async_set_rows(device_id, rows), "modbus_server rename"
            )


async def _async_update_listener(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> None:
    """Server settings changed: reload once. Devices added, changed or removed: swap live."""
    data = entry.runtime_data
    if data.reload_scheduled:
        return
    if data.signature != entry_signature(entry):
        data.reload_scheduled = True
        # Not inline: listeners start eagerly; let the whole change land before the reload.
        hass.loop.call_soon(hass.config_entries.async_schedule_reload, entry.entry_id)
        return
    integration = await async_get_integration(hass, DOMAIN)
    revision = str(integration.version or "0")
    subentries = {s.subentry_id: s for s in entry.get_subentries_of_type(SUBENTRY_DEVICE)}
    changed = False
    for device_id in [d for d in data.devices if d not in subentries]:
        data.runtime.async_remove_device(device_id)
        entry.async_create_task(
            hass, data.tables.async_remove_device(device_id), "modbus_server remove table"
        )
        changed = True
    for device_id, subentry in subentries.items():
        running = data.devices.get(device_id)
        settings = DeviceSettings.from_data(device_id, subentry.data, revision=revision)
        if running is not None and running.settings == settings:
            continue
        if (device := await _async_apply_device(hass, entry, device_id, revision)) is not None:
            _async_register_device(hass, entry, device)
    if changed:
        _async_after_change(hass, entry)


async def async_unload_entry(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> bool:
    """Unload the entities, then stop the server: every client is closed, the port is free."""
    unload_ok = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unload_ok:
        await entry.runtime_data.listener.stop()
    return unload_ok


async def async_remove_entry(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> None:
    """Forget the entry's tables, repair issues and issued certificate files (keys among them)."""
    await hass.async_add_executor_job(
        partial(shutil.rmtree, entry_folder(hass, entry.entry_id), ignore_errors=True)
    )
    await (await async_get_table_store(hass, entry.entry_id)).async_remove()
    forget_table_store(hass, entry.entry_id)
    for issue in list(ir.async_get(hass).issues.values()):
        if issue.domain == DOMAIN and issue.issue_id.endswith(entry.entry_id):
            ir.async_delete_issue(hass, DOMAIN, issue.issue_id)
