"""Numbers: integration-owned holding registers, set by Home Assistant and by Modbus clients."""

from __future__ import annotations

from typing import Any

from homeassistant.components.number import NumberEntity, NumberExtraStoredData, NumberMode
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import OwnedPointEntity, async_setup_owned
from .modbus.area import Area
from .models import ModbusServerConfigEntry
from .registermap import DataType, Point
from .registermap.datatypes import integer_range

PARALLEL_UPDATES = 0

FLOAT_LIMITS = {DataType.FLOAT32: 3.4028234663852886e38, DataType.FLOAT64: 1.7976931348623157e308}


def number_limits(point: Point) -> tuple[float, float, float]:
    """(min, max, step) of a point's engineering value, from its type, scale and offset."""
    low: float
    high: float
    if point.data_type.is_integer:
        low, high = integer_range(point.data_type)
        step = abs(point.scale)
    elif point.data_type.is_bit:
        low, high, step = 0, 1, 1.0
    else:
        limit = FLOAT_LIMITS.get(point.data_type, 1e15)
        low, high, step = -limit, limit, 0.001
        return low, high, step
    ends = sorted((low * point.scale + point.offset, high * point.scale + point.offset))
    return ends[0], ends[1], step


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ModbusServerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One number per owned holding register."""
    async_setup_owned(
        entry,
        async_add_entities,
        Area.HOLDING_REGISTER,
        OwnedNumber,
        # A text value is no number; the flow refuses this combination, an import may not.
        accept=lambda point: point.data_type is not DataType.STRING,
    )


class OwnedNumber(OwnedPointEntity, NumberEntity):
    """A holding register owned by the integration."""

    _attr_mode = NumberMode.BOX

    def _apply_point(self, point: Point) -> None:
        """Limits follow the data type, scale and offset."""
        super()._apply_point(point)
        low, high, step = number_limits(point)
        self._attr_native_min_value = low
        self._attr_native_max_value = high
        self._attr_native_step = step
        self._attr_native_unit_of_measurement = point.unit

    @property
    def native_value(self) -> float | None:
        """What Modbus clients read (whole numbers stay int: an int64 keeps every digit)."""
        value = self.owned_value
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        return float(value)

    async def async_set_native_value(self, value: float) -> None:
        """Set the register from Home Assistant."""
        await self.async_set_owned_value(value)

    async def async_restore_value(self) -> Any:
        """The last native value from a number's restore data (older caches)."""
        last = await self.async_get_last_extra_data()
        data = None if last is None else NumberExtraStoredData.from_dict(last.as_dict())
        return None if data is None else data.native_value

    def _coerce(self, value: object) -> object:
        """Integer types take whole raw values; numeric text is accepted."""
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return value
        if self.point.data_type is DataType.BIT and isinstance(value, int | float):
            return bool(value)
        return value
