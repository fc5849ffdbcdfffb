"""Runtime data of a server entry and the typed ConfigEntry alias."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

from .modbus.area import Area
from .registermap import Point

if TYPE_CHECKING:
    from .bridge import Bridge
    from .entity import OwnedPointEntity
    from .modbus import Server
    from .monitor import ServerMonitor
    from .owned import OwnedStore
    from .registermap import RegisterMap

type ModbusServerConfigEntry = ConfigEntry[ModbusServerData]


@dataclass
class ModbusServerData:
    """Everything a running server entry holds (entry.runtime_data)."""

    server: Server
    bridge: Bridge
    register_map: RegisterMap
    owned: OwnedStore
    monitor: ServerMonitor
    signature: object
    reload_scheduled: bool = False
    missing_entities: list[str] = field(default_factory=list)
    owned_entities: dict[str, OwnedPointEntity] = field(default_factory=dict)

    def owned_points(self, area: Area) -> list[Point]:
        """Integration-owned points of one area (each becomes an entity)."""
        return [p for p in self.register_map.points if p.source is None and p.area is area]
