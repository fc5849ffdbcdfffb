"""Base entities: diagnostics belong to the server's device, owned rows to their device's."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import ExtraStoredData, RestoreEntity

from .const import DOMAIN
from .modbus.area import Area
from .models import ModbusServerConfigEntry, signal_tables
from .registermap import UNAVAILABLE, EncodingError, Point
from .registermap.codec import as_bool

if TYPE_CHECKING:
    from .runtime import DeviceRuntime

OWNED_VALUE = "owned_value"
"""Key of the exact owned value in an owned entity's extra restore data."""


class OwnedStoredData(ExtraStoredData):
    """The owned value exactly as the store holds it, for the restore cache.

    Not the number/sensor platforms' restore data: a number's keeps a float, which drops the
    low bits of an int64/uint64 above 2**53, while JSON keeps an int exactly.
    """

    def __init__(self, value: object) -> None:
        """Keep the value."""
        self.value = value

    def as_dict(self) -> dict[str, Any]:
        """{"owned_value": value}."""
        return {OWNED_VALUE: self.value}


class ModbusServerEntity(Entity):
    """An entity of a server entry's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: ModbusServerConfigEntry, device_id: str | None = None) -> None:
        """Attach the entity to a Modbus device (a device subentry) or to the server."""
        self.entry = entry
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, device_id or entry.entry_id)})


class ModbusServerDiagnosticEntity(ModbusServerEntity):
    """A diagnostic entity refreshed from the server monitor's samples."""

    def __init__(self, entry: ModbusServerConfigEntry, description: EntityDescription) -> None:
        """Describe the entity; unique per entry and key."""
        super().__init__(entry)
        self.entity_description = description
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"

    async def async_added_to_hass(self) -> None:
        """Follow the monitor's samples."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, self.entry.runtime_data.monitor.signal, self.async_write_ha_state
            )
        )


class OwnedPointEntity(ModbusServerEntity, RestoreEntity):
    """An integration-owned point: the entity *is* the value that Modbus clients read/write.

    The value lives in the OwnedStore (what the bridge serves); the entity restores it after a
    restart, changes it when HA sets it, and follows it when a Modbus client writes it.
    """

    _attr_translation_key = "owned_point"

    def __init__(self, entry: ModbusServerConfigEntry, device_id: str, point: Point) -> None:
        """One entity per owned point; its unique id is the row id."""
        super().__init__(entry, device_id)
        self.device_id = device_id
        self.point = point
        self._attr_unique_id = point.key
        self._apply_point(point)

    def _apply_point(self, point: Point) -> None:
        """Take the row's name, unit and limits (at creation and after a table edit)."""
        self.point = point
        if point.name:
            self._attr_name = point.name
        else:
            self.__dict__.pop("_attr_name", None)  # the translated name again
            self._attr_translation_placeholders = {"address": point.plc_reference}

    @property
    def _device(self) -> DeviceRuntime:
        return self.entry.runtime_data.devices[self.device_id]

    @property
    def owned_value(self) -> Any:
        """The engineering value, or None while it has none."""
        devices = self.entry.runtime_data.devices
        if self.device_id not in devices:
            return None
        value = devices[self.device_id].owned.get(self.point.key)
        return None if value is UNAVAILABLE else value

    @property
    def extra_restore_state_data(self) -> ExtraStoredData | None:
        """The exact value (see `OwnedStoredData`)."""
        return OwnedStoredData(self.owned_value)

    async def async_added_to_hass(self) -> None:
        """Restore the last value, then follow writes by Modbus clients."""
        await super().async_added_to_hass()
        restored = await self._async_restore_exact()
        if restored is None:
            restored = await self.async_restore_value()
        if restored is not None:
            # A changed point type may refuse the old value: start without one then.
            with suppress(ServiceValidationError):
                self._store(restored)
        runtime = self.entry.runtime_data
        runtime.owned_entities[self.point.key] = self
        key = self.point.key

        @callback
        def _forget() -> None:
            # A row moved to another area has a new entity under the same key by now.
            if runtime.owned_entities.get(key) is self:
                del runtime.owned_entities[key]

        self.async_on_remove(_forget)
        # The owned store outlives table swaps of the device: one listener is enough.
        self.async_on_remove(self._device.owned.async_add_listener(key, self._async_written))
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_tables(self.entry.entry_id), self._refresh)
        )

    @callback
    def _refresh(self) -> None:
        """The device's table changed: follow this row's new settings."""
        device = self.entry.runtime_data.devices.get(self.device_id)
        points = () if device is None else device.register_map.points
        point = next((p for p in points if p.key == self.point.key), None)
        if point is not None and point != self.point and point.area is self.point.area:
            self._apply_point(point)
            self.async_write_ha_state()

    async def _async_restore_exact(self) -> Any:
        """The exact value stored by `extra_restore_state_data` (None: not stored)."""
        last = await self.async_get_last_extra_data()
        return None if last is None else last.as_dict().get(OWNED_VALUE)

    async def async_restore_value(self) -> Any:
        """The value from a cache written before the exact value was stored (per platform)."""
        return None

    @callback
    def _async_written(self, value: object) -> None:
        """A Modbus client wrote the point: show it at once."""
        self.async_write_ha_state()

    def _store(self, value: object) -> None:
        """Check that the value fits the point, then make it what clients read."""
        device = self._device
        try:
            device.register_map.encode(self.point, value)
        except (EncodingError, TypeError, ValueError) as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_value",
                translation_placeholders={
                    "value": str(value),
                    "entity_id": self.entity_id,
                    "error": str(err),
                },
            ) from err
        device.owned.set_from_entity(self.point.key, value)

    async def async_set_owned_value(self, value: object) -> None:
        """Set the value from Home Assistant (the set_value action, turn_on, set_native_value)."""
        self._store(self._coerce(value))
        self.async_write_ha_state()

    def _coerce(self, value: object) -> object:
        """Turn an action's value into the point's engineering value."""
        return value


class OwnedBitEntity(OwnedPointEntity):
    """An owned coil or discrete input: on/off restore and on/off/true/false/1/0 values."""

    async def async_restore_value(self) -> Any:
        """On/off from the last state."""
        last = await self.async_get_last_state()
        if last is None or last.state not in (STATE_ON, STATE_OFF):
            return None
        return last.state == STATE_ON

    def _coerce(self, value: object) -> object:
        """Accept on/off, true/false, yes/no and 1/0 (anything else is refused by `_store`)."""
        try:
            return as_bool(value)
        except EncodingError:
            return value


@callback
def async_setup_owned(
    entry: ModbusServerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    area: Area,
    factory: Callable[[ModbusServerConfigEntry, str, Point], OwnedPointEntity],
    accept: Callable[[Point], bool] = lambda point: True,
) -> None:
    """Add an entity per owned row of `area` on every device, now and after each table change.

    Entities of removed rows are removed by setup from the registry; a removed row's key is
    forgotten here, so a row added again later gets its entity again.
    """
    added: dict[str, set[str]] = {}

    @callback
    def _sync() -> None:
        devices = entry.runtime_data.devices
        for device_id in [d for d in added if d not in devices]:
            del added[device_id]
        for device_id in devices:
            points = [p for p in entry.runtime_data.owned_points(device_id, area) if accept(p)]
            have = added.setdefault(device_id, set())
            have &= {point.key for point in points}
            new = [point for point in points if point.key not in have]
            if new:
                have.update(point.key for point in new)
                async_add_entities(
                    [factory(entry, device_id, point) for point in new],
                    config_subentry_id=device_id,
                )

    _sync()
    entry.async_on_unload(
        async_dispatcher_connect(
            entry.runtime_data.monitor.hass, signal_tables(entry.entry_id), _sync
        )
    )
