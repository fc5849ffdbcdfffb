"""Config entry migration: v1 (a server whose rows are subentries) -> v2 (server, devices, tables).

A v1 server entry held its unit id and unmapped policy in `entry.data` and one "point"
subentry per row. In v2 the server entry keeps the transport and security settings, each
device is a "device" subentry (name, unit ids, unmapped policy, read-only, staleness,
identification) and a device's rows live in the server's `TableStore`. The migration makes one
device holding every row:

* the device answers what the server answered: `unit_id` N -> unit ids [N] (others get 0x0B as
  before), `unit_id` None -> every unit id;
* each row keeps its subentry id as its row id, so an owned row's entity (unique id = that id)
  and its restored value stay the same entity, and the same for automations using it;
* the order of steps makes a crash harmless: the rows are saved before the point subentries are
  removed, and a second run finds the device and the rows already saved and completes the rest.
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant

from .const import (
    CONF_UNIT_ID,
    CONF_UNKNOWN_UNIT,
    CONF_UNMAPPED,
    DEFAULT_UNKNOWN_UNIT,
    DEFAULT_UNMAPPED,
    SUBENTRY_DEVICE,
    SUBENTRY_POINT,
)
from .device_rules import device_data
from .table_store import ROW_ID, async_get_table_store

_LOGGER = logging.getLogger(__name__)

CURRENT_VERSION = 2


def device_data_from_v1(data: Any, title: str) -> dict[str, Any]:
    """The one device of a migrated v1 server: what the server itself answered."""
    unit_id = data.get(CONF_UNIT_ID)
    # Not read-only itself: a read-only v1 server stays read-only as a whole. Staleness off:
    # v1 had none.
    return device_data(
        name=title,
        unit_ids=None if unit_id is None else [int(unit_id)],
        unmapped=data.get(CONF_UNMAPPED, DEFAULT_UNMAPPED),
    )


async def async_migrate(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring an entry to the current version; False for one newer than this code."""
    if entry.version > CURRENT_VERSION:
        _LOGGER.error(
            "%s was saved by a newer version (%s) of this integration; downgrade is not supported",
            entry.title,
            entry.version,
        )
        return False
    if entry.version == 1:
        await _async_v1_to_v2(hass, entry)
    return True


async def _async_v1_to_v2(hass: HomeAssistant, entry: ConfigEntry) -> None:
    points = {
        subentry_id: subentry
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_POINT
    }
    device = next(
        (s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_DEVICE), None
    )
    if device is None:
        device = ConfigSubentry(
            data=MappingProxyType(device_data_from_v1(entry.data, entry.title)),
            subentry_type=SUBENTRY_DEVICE,
            title=entry.title,
            unique_id=None,
        )
        hass.config_entries.async_add_subentry(entry, device)

    store = await async_get_table_store(hass, entry.entry_id)
    rows = list(store.rows(device.subentry_id))  # from an interrupted earlier run
    saved = {row[ROW_ID] for row in rows}
    rows += [
        {**subentry.data, ROW_ID: subentry_id}
        for subentry_id, subentry in points.items()
        if subentry_id not in saved
    ]
    await store.async_set_rows(device.subentry_id, rows)

    for subentry_id in points:
        hass.config_entries.async_remove_subentry(entry, subentry_id)
    data = {k: v for k, v in entry.data.items() if k not in (CONF_UNIT_ID, CONF_UNMAPPED)}
    data.setdefault(CONF_UNKNOWN_UNIT, DEFAULT_UNKNOWN_UNIT)
    hass.config_entries.async_update_entry(entry, data=data, version=2, minor_version=1)
    _LOGGER.info(
        "Migrated %s to devices: one device (%s) with %d rows", entry.title, device.title, len(rows)
    )
