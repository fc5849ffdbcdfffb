"""The rows of every device of one server, kept in one Home Assistant store file.

Why not one config subentry per row (as the v1 model did): the integration page renders every
subentry, and 1 000 of them froze it for seconds (5 000: minutes). Devices stay subentries (a
handful per server, each with its own flows); their tables live here, in
`.storage/modbus_server.table.<entry_id>`, which Home Assistant backs up with the rest of
`.storage`.

Edits are atomic: a device's table is replaced as a whole by an already validated list of rows,
the file is written with `atomic_writes` (temp file + rename), and a row mapping is never
mutated after it was stored, so the file can be serialised off the event loop while requests
go on. Listeners hear which device changed, after the new rows are in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

STORAGE_VERSION = 1
ROW_ID = "id"
"""Key of a row's id inside its mapping: stable across edits; owned rows' entities use it."""

type Row = Mapping[str, Any]


def storage_key(entry_id: str) -> str:
    """The store file of one server entry."""
    return f"{DOMAIN}.table.{entry_id}"


def _frozen(row: Mapping[str, Any]) -> Row:
    return MappingProxyType(dict(row))


class TableStore:
    """Device id -> its rows, loaded once at setup, saved on every edit."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Bind the store to a server entry; call `async_load` before use."""
        self._store: Store[dict[str, Any]] = Store(
            hass,
            STORAGE_VERSION,
            storage_key(entry_id),
            atomic_writes=True,
            serialize_in_event_loop=False,
        )
        self._tables: dict[str, tuple[Row, ...]] = {}
        self._listeners: list[Callable[[str], None]] = []

    async def async_load(self) -> None:
        """Read the file (an absent file is an empty table set)."""
        data = await self._store.async_load() or {}
        devices = data.get("devices", {})
        self._tables = {
            device_id: tuple(_frozen(row) for row in rows) for device_id, rows in devices.items()
        }

    @property
    def device_ids(self) -> list[str]:
        """Every device that has a table here."""
        return list(self._tables)

    def rows(self, device_id: str) -> tuple[Row, ...]:
        """The rows of one device, in stored order (empty for an unknown device)."""
        return self._tables.get(device_id, ())

    def row(self, device_id: str, row_id: str) -> Row | None:
        """One row by id, or None."""
        return next((r for r in self.rows(device_id) if r[ROW_ID] == row_id), None)

    async def async_set_rows(self, device_id: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace a device's whole table (rows already validated) and save it."""
        table = tuple(_frozen(row) for row in rows)
        ids = [row.get(ROW_ID) for row in table]
        if any(not isinstance(row_id, str) or not row_id for row_id in ids):
            raise ValueError("every row needs a non-empty string id")
        if len(set(ids)) != len(ids):
            raise ValueError("row ids must be unique within a device")
        self._tables[device_id] = table
        await self._async_save()
        self._notify(device_id)

    async def async_remove_device(self, device_id: str) -> None:
        """Forget a device's table (its subentry was removed)."""
        if self._tables.pop(device_id, None) is not None:
            await self._async_save()
            self._notify(device_id)

    async def async_remove(self) -> None:
        """Delete the file (the server entry was removed)."""
        self._tables = {}
        await self._store.async_remove()

    @callback
    def async_add_listener(self, listener: Callable[[str], None]) -> CALLBACK_TYPE:
        """Call `listener(device_id)` after a device's table changed; returns the remover."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    def _notify(self, device_id: str) -> None:
        for listener in tuple(self._listeners):
            listener(device_id)

    async def _async_save(self) -> None:
        # Plain copies (the stored rows are read-only views): the snapshot belongs to the
        # writer alone, so it is serialised in a worker thread, off the event loop.
        snapshot = {
            device_id: [dict(row) for row in rows] for device_id, rows in self._tables.items()
        }
        await self._store.async_save({"devices": snapshot})


DATA_TABLES: HassKey[dict[str, TableStore]] = HassKey(f"{DOMAIN}_tables")


async def async_get_table_store(hass: HomeAssistant, entry_id: str) -> TableStore:
    """The server's table store, loaded on first use and kept while Home Assistant runs.

    One instance per server: the flows, the table view and the running server share it, so
    an edit made anywhere reaches the running server through the store's listeners.
    """
    stores = hass.data.setdefault(DATA_TABLES, {})
    if (store := stores.get(entry_id)) is None:
        store = TableStore(hass, entry_id)
        await store.async_load()
        stores[entry_id] = store
    return store


def loaded_table_store(hass: HomeAssistant, entry_id: str) -> TableStore | None:
    """The server's table store if something loaded it already (None otherwise)."""
    return hass.data.get(DATA_TABLES, {}).get(entry_id)


@callback
def forget_table_store(hass: HomeAssistant, entry_id: str) -> None:
    """Drop the shared instance (the server entry was removed)."""
    hass.data.get(DATA_TABLES, {}).pop(entry_id, None)
