"""Where the table view's rows live: the only module of the panel that knows.

Today a server (config entry) has one device, the server itself, whose rows are the
entry's "point" subentries (`Point.key` is the subentry id), and a running server keeps
its compiled table, bridge and owned values in `entry.runtime_data`. Everything else in
the panel goes through the functions here, so moving rows to another store means
rewriting this module only.

Edits and deletions are stored as subentry changes; the entry's update listener then
reloads the server once (the listener restarts - a limitation of the storage, not of the
panel). `async_follow` tells the panel when the reloaded table is live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event

from ..const import CONF_UNIT_ID, DOMAIN, SUBENTRY_POINT
from ..helpers import data_from_point, entry_points, point_from_data, point_title, split_source
from ..modbus import ModbusExceptionResponse
from ..registermap import UNAVAILABLE

if TYPE_CHECKING:
    from ..models import ModbusServerConfigEntry, ModbusServerData
    from ..registermap import Point


@dataclass(frozen=True, slots=True)
class Device:
    """A Modbus device of a server: what the panel shows above its rows."""

    id: str
    name: str
    unit_id: int | None
    """None (or 0): the device answers every unit id."""


@dataclass(frozen=True, slots=True)
class RowValue:
    """What a row serves right now: its raw cells (None: refused) and engineering value."""

    cells: list[int] | None
    value: object
    error: str | None
    """The exception a client reading only this row gets (None when it reads fine)."""


def servers(hass: HomeAssistant) -> list[ModbusServerConfigEntry]:
    """Every server entry, loaded or not."""
    return list(hass.config_entries.async_entries(DOMAIN))


def get_server(hass: HomeAssistant, entry_id: str) -> ModbusServerConfigEntry | None:
    """One server entry by id (None when there is no such server)."""
    entry = hass.config_entries.async_get_entry(entry_id)
    return entry if entry is not None and entry.domain == DOMAIN else None


def list_devices(entry: ModbusServerConfigEntry) -> list[Device]:
    """The devices of a server; today exactly one, the server itself."""
    return [Device(id=entry.entry_id, name=entry.title, unit_id=entry.data.get(CONF_UNIT_ID))]


def has_device(entry: ModbusServerConfigEntry, device_id: str) -> bool:
    """Whether the server has this device."""
    return any(device.id == device_id for device in list_devices(entry))


def _runtime(entry: ModbusServerConfigEntry) -> ModbusServerData | None:
    if entry.state is not ConfigEntryState.LOADED:
        return None
    return getattr(entry, "runtime_data", None)


def is_running(entry: ModbusServerConfigEntry) -> bool:
    """Whether the server is running (then its rows have live values)."""
    return _runtime(entry) is not None


def device_rows(entry: ModbusServerConfigEntry, device_id: str) -> list[Point]:
    """The rows of a device: the running table when the server runs, else the stored one."""
    if not has_device(entry, device_id):
        return []
    runtime = _runtime(entry)
    if runtime is not None:
        return list(runtime.register_map.points)
    return entry_points(entry)


def other_rows(entry: ModbusServerConfigEntry, device_id: str, key: str) -> list[Point]:
    """The stored rows of a device except one (what an edited row is checked against)."""
    return entry_points(entry, exclude=key) if has_device(entry, device_id) else []


def _row_keys(entry: ModbusServerConfigEntry) -> set[str]:
    return {
        key
        for key, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_POINT
    }


def find_row(entry: ModbusServerConfigEntry, device_id: str, key: str) -> Point | None:
    """The stored row with this key (None when the device has no such row)."""
    if not has_device(entry, device_id) or key not in _row_keys(entry):
        return None
    return point_from_data(entry.subentries[key].data, key)


@callback
def update_row(hass: HomeAssistant, entry: ModbusServerConfigEntry, point: Point) -> None:
    """Store a changed row (already validated) under its key; settings it lacks are kept."""
    subentry = entry.subentries[point.key]
    data: dict[str, Any] = {**subentry.data, **data_from_point(point)}
    hass.config_entries.async_update_subentry(entry, subentry, data=data, title=point_title(point))


@callback
def delete_rows(
    hass: HomeAssistant, entry: ModbusServerConfigEntry, device_id: str, keys: Iterable[str]
) -> list[str]:
    """Delete the rows with these keys; returns the keys that were not rows of the device."""
    wanted = list(dict.fromkeys(keys))
    rows = _row_keys(entry) if has_device(entry, device_id) else set()
    if unknown := [key for key in wanted if key not in rows]:
        return unknown  # all or nothing
    for key in wanted:
        hass.config_entries.async_remove_subentry(entry, key)
    return []


def row_values(entry: ModbusServerConfigEntry, points: Iterable[Point]) -> dict[str, RowValue]:
    """What clients read from each row now (empty when the server is not running).

    The cells come from the bridge's encoded view, exactly as a client reading only this
    row gets them; the panel's reads are not recorded as client reads.
    """
    runtime = _runtime(entry)
    if runtime is None:
        return {}
    bridge = runtime.bridge
    values: dict[str, RowValue] = {}
    for point in points:
        value = bridge.current_value(point)
        if value is UNAVAILABLE:
            value = None
        try:
            cells = list(bridge.on_read(None, point.area, point.address, point.register_count))
        except ModbusExceptionResponse as err:
            values[point.key] = RowValue(None, value, type(err).__name__)
        else:
            values[point.key] = RowValue(cells, value, None)
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
    table changes when the entry was reloaded with a new table.
    """
    stoppers: list[CALLBACK_TYPE] = []
    followed: list[ModbusServerData | None] = [None]

    def _stop_values() -> None:
        while stoppers:
            stoppers.pop()()

    def _start_values(runtime: ModbusServerData) -> None:
        by_entity: dict[str, set[str]] = {}
        owned: set[str] = set()
        for point in runtime.register_map.points:
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
    def _state_of_entry() -> None:
        runtime = _runtime(entry)
        if runtime is followed[0]:
            return
        _stop_values()
        followed[0] = None
        if runtime is not None:
            _start_values(runtime)
            on_table()

    if (runtime := _runtime(entry)) is not None:
        _start_values(runtime)
    remove_state_listener = entry.async_on_state_change(_state_of_entry)

    @callback
    def stop() -> None:
        _stop_values()
        remove_state_listener()

    return stop
