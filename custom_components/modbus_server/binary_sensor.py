"""Binary sensors: 'client connected', and integration-owned discrete inputs."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import STATE_OFF, STATE_ON, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import ModbusServerDiagnosticEntity, OwnedPointEntity
from .modbus.area import Area
from .models import ModbusServerConfigEntry

PARALLEL_UPDATES = 0

CLIENT_CONNECTED = BinarySensorEntityDescription(
    key="client_connected",
    translation_key="client_connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ModbusServerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add 'client connected' and one binary sensor per owned discrete input."""
    owned = entry.runtime_data.owned_points(Area.DISCRETE_INPUT)
    async_add_entities(
        [
            ClientConnectedBinarySensor(entry, CLIENT_CONNECTED),
            *(OwnedBinarySensor(entry, point) for point in owned),
        ]
    )


class ClientConnectedBinarySensor(ModbusServerDiagnosticEntity, BinarySensorEntity):
    """On while at least one Modbus client is connected."""

    @property
    def is_on(self) -> bool:
        """Whether a client is connected (as of the latest sample)."""
        return self.entry.runtime_data.monitor.snapshot.connections > 0


class OwnedBinarySensor(OwnedPointEntity, BinarySensorEntity):
    """A discrete input owned by the integration; HA sets it with modbus_server.set_value."""

    @property
    def is_on(self) -> bool | None:
        """What Modbus clients read."""
        value = self.owned_value
        return None if value is None else bool(value)

    async def async_restore_value(self) -> Any:
        """On/off from the last state."""
        last = await self.async_get_last_state()
        if last is None or last.state not in (STATE_ON, STATE_OFF):
            return None
        return last.state == STATE_ON

    def _coerce(self, value: object) -> object:
        """Accept on/off, true/false and 1/0."""
        return _as_bool(value)


def _as_bool(value: object) -> object:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("on", "true", "1", "yes"):
            return True
        if text in ("off", "false", "0", "no"):
            return False
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return value
