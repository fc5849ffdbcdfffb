"""Energy counters that never go backwards on the wire.

Consumers (inverters, GX devices, billing) treat a falling total as a meter fault or book
a huge negative delta. `MonotonicCounter` passes on only the increments of its source: a
source that resets (a new utility meter cycle, a replaced device) or drops for a moment
keeps the last total and counts on from its new value; while the source is unavailable the
last total is served. The price: a source that dips and recovers (1000.2, 1000.1, 1000.2 kWh)
counts the recovery again (0.1 kWh here); energy sensors that only count up are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .model import Profile, Quantity


class MonotonicCounter:
    """Total = first value seen + every later increase of the source."""

    __slots__ = ("_last_source", "_total")

    def __init__(self) -> None:
        """Start with no value (the first source value becomes the total)."""
        self._last_source: float | None = None
        self._total: float | None = None

    @property
    def total(self) -> float | None:
        """The current total, None before the source had a value."""
        return self._total

    def update(self, value: float | None) -> float | None:
        """Feed a source value (None = unavailable) and return the total to serve."""
        if value is None:
            return self._total
        if self._last_source is None or self._total is None:
            self._total = value
        elif value > self._last_source:
            self._total += value - self._last_source
        self._last_source = value
        return self._total


class SlotValues(Mapping[str, float | None]):
    """Current slot values of one device; energy slots pass through a `MonotonicCounter`.

    The runtime calls `set` on every state change (None = unavailable); the device's table
    reads the mapping, one snapshot per request.
    """

    def __init__(self, profile: Profile) -> None:
        """Hold no values yet; one counter per energy slot of `profile`."""
        self._values: dict[str, float | None] = {}
        self._names = frozenset(slot.name for slot in profile.slots)
        self._counters = {
            slot.name: MonotonicCounter()
            for slot in profile.slots
            if slot.quantity is Quantity.ENERGY
        }

    def set(self, name: str, value: float | None) -> None:
        """Store a slot's new value (an energy slot stores its guarded total).

        KeyError for a name that is not a slot of the profile (a typo would otherwise
        leave the slot unfed without a word).
        """
        if name not in self._names:
            raise KeyError(f"no slot {name!r}")
        counter = self._counters.get(name)
        self._values[name] = value if counter is None else counter.update(value)

    def __getitem__(self, name: str) -> float | None:
        """The value of a slot (KeyError before its first `set`)."""
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        """The slots that have been set."""
        return iter(self._values)

    def __len__(self) -> int:
        """Number of slots that have been set."""
        return len(self._values)
