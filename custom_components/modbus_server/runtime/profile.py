"""A profile device at runtime: slot entities feed a compiled `ProfileTable`.

Each bound slot follows its entity: every state change is converted from the entity's
`unit_of_measurement` to the slot's base unit (W, Wh, V, ...) and stored in `SlotValues`
(energy slots through a counter that never goes backwards). Every request takes one snapshot
of the slots, so a 32-bit or float value is never half old, half new.

Staleness: a slot whose entity is unavailable, not a number, in a unit the slot cannot take,
or has not reported for `stale_after` seconds has no current value; the rows it feeds answer
ServerDeviceFailure (04) (a zero-export controller sees a fault, not an old value). Energy
counters are the exception: they keep serving their last total.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_state_report_event,
)

from ..profiles.compile import ProfileTable
from ..profiles.counters import SlotValues
from ..profiles.model import Const, FromIdentity, Held, Measure, Quantity
from ..profiles.units import to_base_unit

if TYPE_CHECKING:
    from ..modbus.area import Area
    from ..modbus.device import Request
    from ..registermap import Point

_LOGGER = logging.getLogger(__package__)


class ProfileFeed:
    """The slot values of one profile device, followed from their entities.

    Duck-types what the table view and diagnostics use of a `Bridge`: `current_value`,
    `on_read`, `counters`, `stale`.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        table: ProfileTable,
        slots: Mapping[str, str],
        *,
        stale_after: float | None,
    ) -> None:
        """Follow `slots` (slot name -> entity id) once started; nothing is read yet."""
        self.hass = hass
        self.table = table
        self.slots = dict(slots)
        self.stale_after = stale_after
        self.values = SlotValues(table.profile)
        self._reported: dict[str, float] = {}
        self._by_entity: dict[str, list[str]] = {}
        for name, entity_id in self.slots.items():
            self._by_entity.setdefault(entity_id, []).append(name)
        self._energy = {s.name for s in table.profile.slots if s.quantity is Quantity.ENERGY}
        self._logged: set[tuple[str, str]] = set()
        self.counters: dict[str, int] = {}

    # --- following ----------------------------------------------------------------------

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Read the current states and follow their changes and reports."""
        for entity_id in self._by_entity:
            self._set(entity_id, self.hass.states.get(entity_id))
        if not self._by_entity:
            return lambda: None
        entity_ids = list(self._by_entity)
        stops = [
            async_track_state_change_event(self.hass, entity_ids, self._async_changed),
            async_track_state_report_event(self.hass, entity_ids, self._async_reported),
        ]

        def stop() -> None:
            while stops:
                stops.pop()()

        return stop

    @callback
    def _async_changed(self, event: Event[EventStateChangedData]) -> None:
        self._set(event.data["entity_id"], event.data["new_state"])

    @callback
    def _async_reported(self, event: Event[EventStateReportedData]) -> None:
        timestamp = event.data["new_state"].last_reported_timestamp
        for name in self._by_entity.get(event.data["entity_id"], ()):
            self._reported[name] = timestamp

    def _set(self, entity_id: str, state: State | None) -> None:
        for name in self._by_entity.get(entity_id, ()):
            self.values.set(name, self._convert(name, state))
            self._reported[name] = 0.0 if state is None else state.last_reported_timestamp

    def _convert(self, name: str, state: State | None) -> float | None:
        """The state in the slot's base unit; None (logged once) when it has no usable value."""
        if state is None:
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        quantity = self.table.profile.slot(name).quantity
        try:
            return to_base_unit(value, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT), quantity)
        except ValueError as err:
            key = (state.entity_id, str(err))
            if key not in self._logged:
                self._logged.add(key)
                _LOGGER.warning("%s feeds slot %s: %s", state.entity_id, name, err)
            return None

    # --- serving ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, float | None]:
        """The slot values of one request; stale slots (not energy totals) are None."""
        values = dict(self.values)
        if self.stale_after is not None:
            oldest = time.time() - self.stale_after
            for name, reported in self._reported.items():
                if reported < oldest and name not in self._energy:
                    values[name] = None
        return values

    @property
    def stale(self) -> set[str]:
        """The bound slots that have no current value now."""
        return {name for name, value in self.snapshot().items() if value is None} | {
            name for name in self.slots if name not in self.values
        }

    def current_value(self, point: Point) -> object:
        """The engineering value a point serves now (the table view's value column)."""
        return self.table.value(point.key, self.snapshot())

    def on_read(self, request: Request | None, area: Area, address: int, count: int) -> list[int]:
        """A block read, encoded from one snapshot of the slots."""
        return self.table.read(area, address, count, self.snapshot())

    def on_write(
        self, request: Request | None, area: Area, address: int, values: list[int] | list[bool]
    ) -> None:
        """Keep a write the profile accepts (EM24's application register); 02/03 otherwise."""
        self.table.write(area, address, [int(v) for v in values])

    def display_points(self) -> list[Point]:
        """The generated rows for the table view, each with where its value comes from.

        Reserved registers (gaps inside the blocks, read as 0) are left out; a row fed by a
        slot shows its entity, every other row what the profile serves there.
        """
        out = []
        for point in self.table.table.points:
            row = self.table.row(point.key) if point.key else None
            if row is None:
                continue
            origin = self._origin(row.source)
            if "." not in origin.partition(" ")[0]:  # not an entity id: say which row it is
                origin = f"{row.name} · {origin}"
            out.append(dataclasses.replace(point, source=origin))
        return out

    def is_bound(self, point: Point) -> bool:
        """Whether a row has a value source: False for a measure whose slot is not bound.

        Such a row serves the profile's missing value ('not implemented'); it has no
        engineering value, which is not the same as a bound slot being unavailable.
        """
        row = self.table.row(point.key) if point.key else None
        return row is None or not isinstance(row.source, Measure) or self._measured(row.source)

    def _measured(self, source: Measure) -> bool:
        """The measure's slot is bound, or every slot it is derived from is."""
        if source.slot in self.slots:
            return True
        return bool(source.fallback) and all(name in self.slots for name in source.fallback)

    def _origin(self, source: object) -> str:
        if isinstance(source, Measure):
            if source.slot in self.slots:
                return self.slots[source.slot]
            if self._measured(source):
                return "derived from " + ", ".join(source.fallback)
            return "not bound"
        if isinstance(source, Const):
            return "constant"
        if isinstance(source, FromIdentity):
            return f"identity ({source.field})"
        if isinstance(source, Held):
            return "keeps what a client writes"
        return "not implemented"

    def keys_by_entity(self) -> dict[str, set[str]]:
        """Entity id -> the keys of the points whose value it feeds (the table view follows)."""
        keys = {key for key in (p.key for p in self.table.table.points) if key}
        return dict.fromkeys(self._by_entity, keys)
