"""Values of integration-owned points (points without a source entity).

An owned point belongs to the integration: its entity (switch/number for coils and holding
registers, binary_sensor/sensor for discrete inputs and input registers) keeps its value here,
keyed by `Point.key` (the subentry id). Two directions:

* a Modbus client writes the point -> `set_from_modbus` stores the value and calls the
  entity's listener at once, so the entity state follows in the same event-loop turn;
* the entity restores its last value or an HA action sets it -> `set_from_entity` stores it
  without calling that entity back.

Both directions also notify the store-wide change listeners (the bridge keeps its encoded
view of the registers up to date with them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, callback

from .modbus.area import Area
from .registermap import UNAVAILABLE

if TYPE_CHECKING:
    from collections.abc import Callable

    from .registermap import RegisterMap

OWNED_PLATFORMS: dict[Area, Platform] = {
    Area.COIL: Platform.SWITCH,
    Area.HOLDING_REGISTER: Platform.NUMBER,
    Area.DISCRETE_INPUT: Platform.BINARY_SENSOR,
    Area.INPUT_REGISTER: Platform.SENSOR,
}
"""The platform of an owned point's entity, by the point's area."""


class OwnedStore:
    """Engineering values of integration-owned points; UNAVAILABLE until first set."""

    def __init__(self, register_map: RegisterMap | None = None) -> None:
        """Create the store; with a map, `keys` lists its owned points."""
        self.keys: tuple[str, ...] = (
            ()
            if register_map is None
            else tuple(point.key for point in register_map.points if point.source is None)
        )
        self._values: dict[str, object] = {}
        self._listeners: dict[str, list[Callable[[object], None]]] = {}
        self._change_listeners: list[Callable[[str], None]] = []

    def get(self, key: str) -> object:
        """The value of an owned point, or UNAVAILABLE when it has none yet."""
        return self._values.get(key, UNAVAILABLE)

    @callback
    def set_from_entity(self, key: str, value: object) -> None:
        """Store a value coming from the entity itself (restore, HA action)."""
        self._store(key, value)

    @callback
    def set_from_modbus(self, key: str, value: object) -> None:
        """Store a value a Modbus client wrote and tell the point's entity at once."""
        self._store(key, value)
        for listener in tuple(self._listeners.get(key, ())):
            listener(value)

    def _store(self, key: str, value: object) -> None:
        if value is None:
            value = UNAVAILABLE
        self._values[key] = value
        for listener in tuple(self._change_listeners):
            listener(key)

    @callback
    def async_add_listener(self, key: str, cb: Callable[[object], None]) -> CALLBACK_TYPE:
        """Call `cb(value)` whenever a Modbus client writes the point; returns the remover."""
        listeners = self._listeners.setdefault(key, [])
        listeners.append(cb)

        @callback
        def remove() -> None:
            if cb in listeners:
                listeners.remove(cb)

        return remove

    @callback
    def async_add_change_listener(self, cb: Callable[[str], None]) -> CALLBACK_TYPE:
        """Call `cb(key)` after any value changes, from either side; returns the remover."""
        self._change_listeners.append(cb)

        @callback
        def remove() -> None:
            if cb in self._change_listeners:
                self._change_listeners.remove(cb)

        return remove
