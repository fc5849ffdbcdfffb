"""Where the table view's rows live: the only module of the panel that knows.

A server (config entry) has devices (its "device" subentries); each device's rows live in
the server's `TableStore` (row id = `Point.key`), and a running server keeps each device's
compiled table, bridge and owned values in a `DeviceRuntime`. Everything else in the panel
goes through the functions here.

Edits and deletions replace the device's table in the store; the running server swaps in the
new table between two requests (no reload, clients stay connected) and `async_follow` tells
the panel when the new table is live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    async_get_hass_or_none,
    callback,
)
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_state_change_event

from .. import planning
from ..const import CONF_PROFILE, CONF_UNIT_IDS, DOMAIN, SUBENTRY_DEVICE
from ..helpers import data_from_point, point_from_data, split_source
from ..modbus import ModbusExceptionResponse
from ..models import signal_tables
from ..registermap import UNAVAILABLE
from ..table_store import ROW_ID, loaded_table_store

if TYPE_CHECKING:
    from ..models import ModbusServerConfigEntry
    from ..registermap import Point
    from ..runtime import DeviceRuntime
    from ..table_store import TableStore


@dataclass(frozen=True, slots=True)
class Device:
    """A Modbus device of a server: what the panel shows above its rows."""

    id: str
    name: str
    unit_ids: list[int] | None
    """None: the device answers every unit id."""


@dataclass(frozen=True, slots=True)
class RowValue:
    """What a row serves right now: its raw cells (None: refused) and engineering value."""

    cells: list[int] | None
    value: object
    error: str | None
    """The exception a client reading only this row gets (None when it reads fine)."""
    not_bound: bool = False
    """A profile row whose slot is not bound: no engineering value (not 'unavailable')."""


def servers(hass: HomeAssistant) -> list[ModbusServerConfigEntry]:
    """Every server entry, loaded or not."""
    return list(hass.config_entries.async_entries(DOMAIN))


def get_server(hass: HomeAssistant, entry_id: str) -> ModbusServerConfigEntry | None:
    """One server entry by id (None when there is no such server)."""
    entry = hass.config_entries.async_get_entry(entry_id)
    return entry if entry is not None and entry.domain == DOMAIN else None


def list_devices(entry: ModbusServerConfigEntry) -> list[Device]:
    """The devices of a server (its device subentries)."""
    devices = []
    for subentry in entry.get_subentries_of_type(SUBENTRY_DEVICE):
        units = subentry.data.get(CONF_UNIT_IDS)
        devices.append(
            Device(
                id=subentry.subentry_id,
                name=subentry.title,
                unit_ids=None if units is None else sorted(int(u) for u in units),
            )
        )
    return devices


def has_device(entry: ModbusServerConfigEntry, device_id: str) -> bool:
    """Whether the server has this device."""
    subentry = entry.subentries.get(device_id)
    return subentry is not None and subentry.subentry_type == SUBENTRY_DEVICE


def is_editable(entry: ModbusServerConfigEntry, device_id: str) -> bool:
    """Whether the device's rows are stored rows (a profile device's are generated)."""
    subentry = entry.subentries.get(device_id)
    return subentry is not None and not subentry.data.get(CONF_PROFILE)


def _runtime(entry: ModbusServerConfigEntry, device_id: str) -> DeviceRuntime | None:
    if entry.state is not ConfigEntryState.LOADED:
        return None
    data = getattr(entry, "runtime_data", None)
    return None if data is None else data.devices.get(device_id)


def _tables(entry: ModbusServerConfigEntry) -> TableStore | None:
    """The server's store: loaded at its first setup, kept while it is stopped."""
    hass = async_get_hass_or_none()
    return None if hass is None else loaded_table_store(hass, entry.entry_id)


def is_running(entry: ModbusServerConfigEntry) -> bool:
    """Whether the server is running (then its rows have live values)."""
    return entry.state is ConfigEntryState.LOADED and hasattr(entry, "runtime_data")


def _stored(entry: ModbusServerConfigEntry, device_id: str) -> list[Point]:
    tables = _tables(entry)
    if tables is None or not has_device(entry, device_id):
        return []
    return [point_from_data(row, str(row[ROW_ID])) for row in tables.rows(device_id)]


def device_rows(entry: ModbusServerConfigEntry, device_id: str) -> list[Point]:
    """The rows of a device: the running table when the server runs, else the stored one."""
    if not has_device(entry, device_id):
        return []
    runtime = _runtime(entry, device_id)
    if runtime is not None and runtime.profile is not None:  # generated, read-only rows
        return runtime.profile.display_points()
    if runtime is not None:
        return list(runtime.register_map.points)
    return _stored(entry, device_id)


def row_settings(entry: ModbusServerConfigEntry, device_id: str) -> dict[str, dict[str, Any]]:
    """Row id -> the stored row's stale_after/write_mode, as the export writes them."""
    tables = _tables(entry)
    if tables is None or not has_device(entry, device_id):
        return {}
    return planning.row_settings(tables.rows(device_id))


def other_rows(entry: ModbusServerConfigEntry, device_id: str, key: str) -> list[Point]:
    """The stored rows of a device except one (what an edited row is checked against)."""
    return [point for point in _stored(entry, device_id) if point.key != key]


def find_row(entry: ModbusServerConfigEntry, device_id: str, key: str) -> Point | None:
    """The stored row with this key (None when the device has no such row)."""
    return next((point for point in _stored(entry, device_id) if point.key == key), None)


@callback
def update_row(hass: HomeAssistant, entry: ModbusServerConfigEntry, point: Point) -> None:
    """Store a changed row (already validated) under its key; settings it lacks are kept."""
    tables = _tables(entry)
    assert tables is not None  # the row was found in it
    for device_id in tables.device_ids:
        rows = tables.rows(device_id)
        if any(row[ROW_ID] == point.key for row in rows):
            changed: list[dict[str, Any]] = [
                {**row, **data_from_point(point)} if row[ROW_ID] == point.key else dict(row)
                for row in rows
            ]
            entry.async_create_task(
                hass, tables.async_set_rows(device_id, changed), "modbus_server update row"
            )
            return


@callback
def delete_rows(
    hass: HomeAssistant, entry: ModbusServerConfigEntry, device_id: str, keys: Iterable[str]
) -> list[str]:
    """Delete the rows with these keys; returns the keys that were not rows of the device."""
    wanted = list(dict.fromkeys(keys))
    tables = _tables(entry)
    rows = tables.rows(device_id) if tables is not None and has_device(entry, device_id) else ()
    known = {row[ROW_ID] for row in rows}
    if unknown := [key for key in wanted if key not in known]:
        return unknown  # all or nothing
    assert tables is not None
    drop = set(wanted)
    kept = [row for row in rows if row[ROW_ID] not in drop]
    entry.async_create_task(
        hass, tables.async_set_rows(device_id, kept), "modbus_server delete rows"
    )
    return []


def row_values(entry: ModbusServerConfigEntry, points: Iterable[Point]) -> dict[str, RowValue]:
    """What clients read from each row now (empty when the server is not running).

    The cells come from the bridge's encoded view of the row's device, exactly as a client
    reading only this row gets them; the panel's reads are not recorded as client reads.
    """
    if not is_running(entry):
        return {}
    points = list(points)
    keys = {point.key for point in points}
    values: dict[str, RowValue] = {}
    for device in entry.runtime_data.devices.values():
        own = {p.key for p in device.register_map.points} & keys
        bridge = device.reader
        profile = device.profile
        for point in points:
            if point.key not in own:
                continue
            not_bound = profile is not None and not profile.is_bound(point)
            value = None if not_bound else bridge.current_value(point)
            if value is UNAVAILABLE:
                value = None
            try:
                cells = list(bridge.on_read(None, point.area, point.address, point.register_count))
            except ModbusExceptionResponse as err:
                values[point.key] = RowValue(None, value, type(err).__name__, not_bound)
            else:
                values[point.key] = RowValue(cells, value, None, not_bound)
    return values


@callback
def async_follow(
    hass: HomeAssistant,
    entry: ModbusServerConfigEntry,
    device_id: str,
    on_values: Callable[[set[str]], None],
    on_table: Callable[[], None],
) -> CALLBACK_TYPE:
    """Call `on_values(keys)` when rows may serve new values, `on_table()` when rows changed.

    Values change with the state of a row's source entity or an owned row's value; the
    table changes when the device's table was swapped or the entry was set up again.
    """
    stoppers: list[CALLBACK_TYPE] = []
    followed: list[DeviceRuntime | None] = [None]
    table_signal: list[CALLBACK_TYPE] = []

    def _stop_values() -> None:
        while stoppers:
            stoppers.pop()()

    def _start_values(runtime: DeviceRuntime) -> None:
        by_entity: dict[str, set[str]] = {}
        owned: set[str] = set()
        if runtime.profile is not None:  # a profile device: its slot entities feed every row
            by_entity = runtime.profile.keys_by_entity()
        for point in () if runtime.profile is not None else runtime.register_map.points:
            entity_id, _ = split_source(point.source)
            if entity_id is None:
                owned.add(point.key)
            else:
                by_entity.setdefault(entity_id, set()).add(point.key)

        @callback
        def _state_changed(event: Event[EventStateChangedData]) -> None:
            on_values(by_entity.get(event.data["entity_id"], set()))

        @callback
        def _owned_changed(key: str) -> None:
            if key in owned:
                on_values({key})

        stoppers.append(runtime.owned.async_add_change_listener(_owned_changed))
        if by_entity:
            stoppers.append(async_track_state_change_event(hass, list(by_entity), _state_changed))
        followed[0] = runtime

    @callback
    def _changed() -> None:
        runtime = _runtime(entry, device_id)
        if runtime is followed[0]:
            return
        _stop_values()
        followed[0] = None
        if runtime is not None:
            _start_values(runtime)
            on_table()

    @callback
    def _state_of_entry() -> None:
        while table_signal:
            table_signal.pop()()
        if is_running(entry):
            table_signal.append(
                async_dispatcher_connect(hass, signal_tables(entry.entry_id), _changed)
            )
        _changed()

    if (runtime := _runtime(entry, device_id)) is not None:
        _start_values(runtime)
    if is_running(entry):
        table_signal.append(async_dispatcher_connect(hass, signal_tables(entry.entry_id), _changed))
    remove_state_listener = entry.async_on_state_change(_state_of_entry)

    @callback
    def stop() -> None:
        _stop_values()
        while table_signal:
            table_signal.pop()()
        remove_state_listener()

    return stop
