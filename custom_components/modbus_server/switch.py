"""Switches: integration-owned coils, switched by Home Assistant and by Modbus clients."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import OwnedBitEntity, async_setup_owned
from .modbus.area import Area
from .models import ModbusServerConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ModbusServerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One switch per owned coil."""
    async_setup_owned(entry, async_add_entities, Area.COIL, OwnedSwitch)


class OwnedSwitch(OwnedBitEntity, SwitchEntity):
    """A coil owned by the integration."""

    @property
    def is_on(self) -> bool | None:
        """What Modbus clients read."""
        value = self.owned_value
        return None if value is None else bool(value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Set the coil."""
        await self.async_set_owned_value(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Clear the coil."""
        await self.async_set_owned_value(False)
