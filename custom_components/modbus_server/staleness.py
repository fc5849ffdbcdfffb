"""Staleness: a source that has not reported within its maximum age reads as unavailable.

Home Assistant updates `State.last_reported` on every write of an entity's state, also when
the value stays the same; such a write fires `state_reported`, not `state_changed`. A consumer
doing closed-loop control (an inverter limiting its export) must see a fault when the meter
behind a point stops reporting, not the last value for ever.

The maximum age is set per device (`stale_after`, seconds; None or 0: off, the default of
hand-built tables) and overridden per row (the row's `stale_after`: None inherits the device's,
0 never goes stale, a positive number of seconds replaces the device's). Owned rows have no
source and are never stale.

Nothing is checked per request. `Staleness` keeps the set of stale points and one timer at the
earliest moment a fresh point can expire; when it fires, the points whose source's
`last_reported` is older than their maximum age are marked stale and handed to `on_change`
(the bridge re-encodes them under their unavailable policy). A report (`state_changed` passed
in by the bridge, `state_reported` followed here, only for the entities with staleness on)
revives the entity's stale points and, only when it can expire before the armed timer (it was
stale or had no state), arms the timer earlier: a report of a fresh source costs one dict
lookup and one comparison.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, Event, EventStateReportedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_report_event

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from .registermap import Point


def max_age(row: float | str | None, device: float | None) -> float | None:
    """A row's maximum age in seconds, None for never stale.

    `row` is the row's `stale_after` as stored: None (or missing) inherits the device's,
    0 means never, a positive number replaces the device's.
    """
    if row is None or row == "":
        return device or None
    seconds = float(row)
    return seconds if seconds > 0 else None


class Staleness:
    """The stale points of one bridge and the one timer that finds the next ones."""

    def __init__(
        self,
        hass: HomeAssistant,
        ages: Mapping[str, Sequence[tuple[Point, float]]],
        on_change: Callable[[Sequence[Point]], None],
    ) -> None:
        """Follow `ages`: entity id -> its points with staleness on and their maximum age."""
        self.hass = hass
        self._ages = {entity_id: tuple(pairs) for entity_id, pairs in ages.items() if pairs}
        self._shortest = {
            entity_id: min(age for _, age in pairs) for entity_id, pairs in self._ages.items()
        }
        self._on_change = on_change
        self.stale: set[int] = set()
        """`id()` of the points whose source is stale right now."""
        self._stale_entities: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._due = math.inf
        """Wall-clock time (like `last_reported`) the armed timer fires at; inf when none."""

    @property
    def entity_ids(self) -> list[str]:
        """The entities with at least one point whose staleness is on."""
        return list(self._ages)

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Mark what is stale now, arm the timer and follow same-value reports."""
        if not self._ages:
            return lambda: None
        unsubscribe = async_track_state_report_event(
            self.hass, list(self._ages), self._async_state_reported
        )
        self.scan(arm=True)

        @callback
        def stop() -> None:
            unsubscribe()
            self._cancel()

        return stop

    def scan(self, *, arm: bool) -> list[Point]:
        """Mark every point stale or fresh by the clock; the points whose mark changed.

        With `arm`, the timer is set to the earliest expiry of the fresh points.
        """
        now = time.time()
        states = self.hass.states
        changed: list[Point] = []
        next_due = math.inf
        self._stale_entities.clear()
        for entity_id, pairs in self._ages.items():
            state = states.get(entity_id)
            reported = None if state is None else state.last_reported_timestamp
            for point, age in pairs:
                stale = reported is not None and reported + age <= now
                if stale != (id(point) in self.stale):
                    changed.append(point)
                    if stale:
                        self.stale.add(id(point))
                    else:
                        self.stale.discard(id(point))
                if stale:
                    self._stale_entities.add(entity_id)
                elif reported is not None:
                    next_due = min(next_due, reported + age)
        if arm:
            self._cancel()
            if next_due < math.inf:
                self._arm(next_due)
        return changed

    @callback
    def async_reported(self, entity_id: str, timestamp: float) -> list[Point]:
        """An entity's state was written at `timestamp`: its points are fresh again.

        Returns the points that were stale (the caller re-encodes them).
        """
        shortest = self._shortest.get(entity_id)
        if shortest is None:
            return []
        if timestamp + shortest < self._due:
            self._arm(timestamp + shortest)
        if entity_id not in self._stale_entities:
            return []
        self._stale_entities.discard(entity_id)
        revived = [point for point, _ in self._ages[entity_id] if id(point) in self.stale]
        for point in revived:
            self.stale.discard(id(point))
        return revived

    @callback
    def _async_state_reported(self, event: Event[EventStateReportedData]) -> None:
        revived = self.async_reported(event.data["entity_id"], event.time_fired_timestamp)
        if revived:
            self._on_change(revived)

    @callback
    def _async_expire(self) -> None:
        self._timer = None
        self._due = math.inf
        changed = self.scan(arm=True)
        if changed:
            self._on_change(changed)

    def _arm(self, due: float) -> None:
        """Fire at wall-clock time `due` (converted to the loop's clock)."""
        self._cancel()
        loop = self.hass.loop
        delay = max(due - time.time(), 0.0)
        self._timer = loop.call_at(loop.time() + delay, self._async_expire)
        self._due = due

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._due = math.inf
