"""The write planner: a client's block write -> the service calls that make it true.

One block can carry several points of one entity: both ends of a climate's temperature range,
a light's brightness and colour temperature, a cover's position and tilt. Built one by one
from the same state, each point's call would carry the *old* value of the others (a
`set_temperature` for the high end sends the low end along from the state), so the second call
puts back what the first just wrote. The planner therefore works per entity, in address order:

* each point's call is built on the state the entity will have after the calls before it
  (`DomainBinding.expected_state`), never on a stale copy of the values being written;
* consecutive calls of one entity to the same service are merged into one call (one
  `climate.set_temperature` with both ends, one `light.turn_on` with brightness and colour
  temperature), so the entity sees the whole write at once.

Points whose value is already what the entity has are left out before planning, according to
the row's write mode (`effective_write_mode`); the bridge decides that, as it owns the current
values. Planning only reads states and raises before anything is applied: IllegalDataValue (03)
or IllegalFunction (01) from a binding refuses the whole block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .bindings import DomainBinding, ServiceCall
from .const import WRITE_MODE_ALWAYS, WRITE_MODE_ON_CHANGE

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from homeassistant.core import State

    from .bindings import Value
    from .registermap import Point


@dataclass(frozen=True, slots=True)
class Source:
    """Where a point's value comes from: an entity (and attribute) through its binding."""

    entity_id: str
    attribute: str | None
    binding: DomainBinding | None
    """None for a domain without binding: the point reads unavailable and refuses writes."""


def effective_write_mode(row_mode: str | None, binding: DomainBinding | None) -> str:
    """The write mode of a row: its own, or its domain's default (owned points: on change)."""
    if row_mode in (WRITE_MODE_ALWAYS, WRITE_MODE_ON_CHANGE):
        return row_mode
    return WRITE_MODE_ON_CHANGE if binding is None else binding.default_write_mode


@dataclass(frozen=True, slots=True)
class PointWrite:
    """One point of a block write: its decoded value and the registers (or bits) it came in."""

    point: Point
    value: Value
    raw: tuple[int, ...]
    source: Source | None
    """None for an integration-owned point."""


@dataclass(slots=True)
class Step:
    """One thing to do, in order: one service call for one entity, or store an owned value.

    `call` is None for an owned point and for a value its binding accepts without a call
    (0 on a button); `writes` are the points this step applies (the audit event names them).
    """

    writes: list[PointWrite]
    call: ServiceCall | None = None
    entity_id: str | None = None


def plan_writes(writes: Sequence[PointWrite], state_of: Callable[[str], State]) -> list[Step]:
    """Build the steps of a block write (see module doc); raises before anything is applied.

    `state_of(entity_id)` returns the entity's current, available state (the bridge has
    already refused unavailable or missing entities).
    """
    steps: list[Step] = []
    expected: dict[str, State] = {}
    latest: dict[str, Step] = {}
    for write in writes:
        source = write.source
        if source is None:
            steps.append(Step([write]))
            continue
        binding = source.binding
        assert binding is not None  # refused by the bridge before planning
        entity_id = source.entity_id
        state = expected.get(entity_id) or state_of(entity_id)
        call = binding.write(state, write.point.area, source.attribute, write.value)
        expected[entity_id] = binding.expected_state(state, source.attribute, call)
        previous = latest.get(entity_id)
        if (
            call is not None
            and previous is not None
            and previous.call is not None
            and previous.call.domain == call.domain
            and previous.call.service == call.service
        ):
            previous.call = ServiceCall(
                call.domain, call.service, {**previous.call.data, **call.data}
            )
            previous.writes.append(write)
            continue
        step = Step([write], call, entity_id)
        steps.append(step)
        latest[entity_id] = step
    return steps
