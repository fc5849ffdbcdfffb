"""Sensors: the server's diagnostics, and integration-owned input registers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .entity import ModbusServerDiagnosticEntity, OwnedPointEntity, async_setup_owned
from .modbus.area import Area
from .models import ModbusServerConfigEntry
from .monitor import Snapshot
from .registermap import Point

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ModbusServerSensorEntityDescription(SensorEntityDescription):
    """A diagnostic sensor and how it reads the monitor's snapshot."""

    value_fn: Callable[[Snapshot], StateType]


SENSORS: tuple[ModbusServerSensorEntityDescription, ...] = (
    ModbusServerSensorEntityDescription(
        key="connected_clients",
        translation_key="connected_clients",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.connections,
    ),
    ModbusServerSensorEntityDescription(
        key="requests_per_minute",
        translation_key="requests_per_minute",
        native_unit_of_measurement="requests/min",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.requests_per_minute,
    ),
    ModbusServerSensorEntityDescription(
        key="exceptions",
        translation_key="exceptions",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.exceptions,
    ),
    ModbusServerSensorEntityDescription(
        key="last_client",
        translation_key="last_client",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.last_client,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ModbusServerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the diagnostic sensors and one sensor per owned input register."""
    async_add_entities(ModbusServerSensor(entry, description) for description in SENSORS)
    async_setup_owned(entry, async_add_entities, Area.INPUT_REGISTER, OwnedSensor)


class ModbusServerSensor(ModbusServerDiagnosticEntity, SensorEntity):
    """A diagnostic sensor of the server."""

    entity_description: ModbusServerSensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """The value from the latest sample."""
        return self.entity_description.value_fn(self.entry.runtime_data.monitor.snapshot)


class OwnedSensor(OwnedPointEntity, SensorEntity):
    """An input register owned by the integration; HA sets it with modbus_server.set_value."""

    def _apply_point(self, point: Point) -> None:
        """Numbers get a measurement state class and the point's unit."""
        super()._apply_point(point)
        self._attr_native_unit_of_measurement = point.unit
        self._attr_state_class = (
            SensorStateClass.MEASUREMENT if point.data_type.is_numeric else None
        )

    @property
    def native_value(self) -> StateType:
        """What Modbus clients read."""
        value = self.owned_value
        if isinstance(value, bool):
            return int(value)
        return value  # type: ignore[no-any-return]

    async def async_restore_value(self) -> Any:
        """The last native value from a sensor's restore data (older caches)."""
        last = await self.async_get_last_extra_data()
        data = None if last is None else SensorExtraStoredData.from_dict(last.as_dict())
        return None if data is None else data.native_value

    def _coerce(self, value: object) -> object:
        """Numeric points take numbers (numeric text is accepted)."""
        if self.point.data_type.is_numeric and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value
