"""Binary sensors: 'client connected', and integration-owned discrete inputs."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import ModbusServerDiagnosticEntity, OwnedBitEntity, async_setup_owned
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
    async_add_entities([ClientConnectedBinarySensor(entry, CLIENT_CONNECTED)])
    async_setup_owned(entry, async_add_entities, Area.DISCRETE_INPUT, OwnedBinarySensor)


class ClientConnectedBinarySensor(ModbusServerDiagnosticEntity, BinarySensorEntity):
    """On while at least one Modbus client is connected."""

    @property
    def is_on(self) -> bool:
        """Whether a client is connected (as of the latest sample)."""
        return self.entry.runtime_data.monitor.snapshot.connections > 0


class OwnedBinarySensor(OwnedBitEntity, BinarySensorEntity):
    """A discrete input owned by the integration; HA sets it with modbus_server.set_value."""

    @property
    def is_on(self) -> bool | None:
        """What Modbus clients read."""
        value = self.owned_value
        return None if value is None else bool(value)
