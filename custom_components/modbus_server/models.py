"""Runtime data of a server entry and the typed ConfigEntry alias."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from homeassistant.config_entries import ConfigEntry

from .const import DOMAIN
from .modbus.area import Area
from .registermap import Point

if TYPE_CHECKING:
    from .modbus import Server
    from .monitor import ServerMonitor
    from .runtime import DeviceRuntime, ServerRuntime
    from .table_store import TableStore
    from .transports import Listener

type ModbusServerConfigEntry = ConfigEntry[ModbusServerData]


class OwnedValue(Protocol):
    """What the set_value action needs of an owned row's entity (entity.OwnedPointEntity).

    A protocol, not the class: the entities import this module, not the other way round.
    """

    async def async_set_owned_value(self, value: object) -> None:
        """Set the row's value from Home Assistant."""


def signal_tables(entry_id: str) -> str:
    """Dispatcher signal sent after a device of the server was added, swapped or removed.

    The platforms add entities for new owned rows, the owned entities pick up their changed
    rows and the table view reloads its rows: all without reloading the entry.
    """
    return f"{DOMAIN}_{entry_id}_tables"


@dataclass
class ModbusServerData:
    """Everything a running server entry holds (entry.runtime_data)."""

    server: Server
    """Dispatches requests to the devices (and listens itself for TCP and TLS)."""
    listener: Listener
    """The running transport: start/stop, where, counters, its diagnostics."""
    runtime: ServerRuntime
    tables: TableStore
    monitor: ServerMonitor
    signature: object
    reload_scheduled: bool = False
    missing_entities: list[str] = field(default_factory=list)
    owned_entities: dict[str, OwnedValue] = field(default_factory=dict)
    """Owned row id -> its entity (row ids are unique across the server's devices)."""

    @property
    def devices(self) -> dict[str, DeviceRuntime]:
        """Device id (its subentry id) -> the running device."""
        return self.runtime.devices

    def points(self) -> list[Point]:
        """The rows of every running device."""
        return [p for device in self.devices.values() for p in device.register_map.points]

    def owned_points(self, device_id: str, area: Area) -> list[Point]:
        """Integration-owned points of one device and area (each becomes an entity)."""
        device = self.devices.get(device_id)
        if device is None:
            return []
        return [p for p in device.register_map.points if p.source is None and p.area is area]
