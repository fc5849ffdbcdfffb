"""The server's callbacks: register map <-> entity states and service calls.

Reads never wait. The bridge keeps an *encoded view* of every mapped area: a list of
registers per register area, a bytearray of one 0/1 byte per bit per coil or discrete input
area (libmodbus's `tab_bits` layout, which the core packs without converting it), rewritten for
the points of an entity whenever that entity's state changes (`async_track_state_change_event`)
or an owned point's value changes. A read is then a slice; only a block touching a gap or a
point that cannot be served (unavailable without an unavailable value), both listed in
`_holes`, goes through `RegisterMap.read`, which raises the right Modbus exception (or fills
gaps with zeros under the `zero` policy).

Why a cache rather than reading `hass.states` on each request - measured by
`benchmarks/bridge_bench.py` (FC3 x 125 registers over 60 points, in process): the view
serves 1.5-2.1 million block reads/s (0.5-0.7 us each), reading the 60 states through the
bindings and encoding them per request 5,300-7,600/s (130-190 us). The view costs 8-20 us per
state change of a mapped entity instead, paid once per change rather than once per poll, and
SCADA polls far more often than most entities change. The view is updated synchronously
inside the state change dispatch, so a read right after `hass.states.async_set` already sees
the new value. Pass `cache=False` to serve every read from `hass.states` directly.

A source that has not reported within its row's maximum age (`stale_after`, see
`staleness.py`) reads as unavailable: its points are re-encoded when its timer finds them stale
and again on its next report, so the read path stays a slice and reads no clock.

Writes, in order, everything that can refuse before anything is applied:

1. `RegisterMap.write` splits the block into per-point values (all-or-nothing; 02/03).
2. For FC22 (mask write) only the bit points whose bits the client's masks write go on; the
   others keep their value whatever the register's cached copy says.
3. A point whose target cannot take a write answers 04 (entity unavailable or missing,
   domain without binding) or 01 (read-only attribute).
4. A point whose written value encodes to what the point holds now is dropped when its row's
   write mode is `on_change` (the default of state-like domains, see `DomainBinding`): no
   call and no event (counted as `unchanged`). This also keeps FC6/FC16/FC23 on a register of
   packed bits from calling the 15 bits that did not change.
5. `planner.plan_writes` builds the calls per entity against the values being written and
   merges the calls of one entity to one service (03/01 from the bindings' checks).
6. An entity whose previous call still runs answers 06 at once (counted as `busy`): a PLC
   retrying against a hung integration does not pile up one task per retry.

Then each call runs with `blocking=True` under one deadline of `write_timeout` seconds for the
whole request (the entry's `write_timeout`; ServerDeviceBusy 06 on timeout). The call runs as
a background task, shielded: the deadline does not cut it off half-way through a device
operation (a late one is better) and its late outcome is logged; as a background task a hung
call holds up neither Home Assistant's start nor `async_block_till_done`, and stopping Home
Assistant cancels it with the other background tasks instead of finding it still running after
the final write (and warning about it). A failing call answers ServerDeviceFailure 04, a value
the service's schema refuses IllegalDataValue 03, each logged once per entity and error until
it succeeds again; the Modbus response goes out only after the calls returned. A failure in
the middle of a multi-call write leaves the earlier calls applied (services cannot be rolled
back) and attempts none after it.

Every step's points fire `modbus_server_write` (client host/port/unit id, area, address,
bit, raw values, engineering value, entity_id, attribute, `result`: applied, failed or
timeout) once the call returned or the deadline passed, with the same `Context` as the call
and the time it started, so the logbook and automations can tell the state change came from
that Modbus client (`logbook.py` describes the event) and a failed write is never recorded
as written. The context has no user (a Modbus client is not a Home Assistant user); the
client is named in the event. `counters` counts the outcomes (shown in diagnostics).

Read-only servers answer every write with IllegalFunction (01) - the same code the server
itself sends when it has no write callback - because the function, not the address, is
what is refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import probatio
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import (
    CALLBACK_TYPE,
    Context,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event

from .bindings import get_binding
from .const import (
    DEFAULT_WRITE_TIMEOUT,
    DOMAIN,
    EVENT_WRITE,
    RESULT_APPLIED,
    RESULT_FAILED,
    RESULT_TIMEOUT,
    WRITE_MODE_ALWAYS,
    WRITE_MODE_ON_CHANGE,
)
from .helpers import split_source
from .modbus import (
    Area,
    IllegalDataValue,
    IllegalFunction,
    ModbusExceptionResponse,
    ServerDeviceBusy,
    ServerDeviceFailure,
)
from .owned import OWNED_PLATFORMS
from .planner import PointWrite, Source, Step, effective_write_mode, plan_writes
from .registermap import UNAVAILABLE, DataType, EncodingError, UnmappedPolicy
from .staleness import Staleness, max_age

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .bindings import ServiceCall
    from .modbus import Request
    from .owned import OwnedStore
    from .registermap import Point, RegisterMap

_LOGGER = logging.getLogger(__name__)

_UNKNOWN: Final = object()
"""No such entry (a point's source or value may be None)."""

UNCHANGED = "unchanged"
BUSY = "busy"
WRITE_COUNTERS = (RESULT_APPLIED, RESULT_FAILED, RESULT_TIMEOUT, UNCHANGED, BUSY)


class Bridge:
    """on_read/on_write for a `Server`, backed by entity states, services and owned values."""

    def __init__(
        self,
        hass: HomeAssistant,
        register_map: RegisterMap,
        owned: OwnedStore,
        *,
        read_only: bool = False,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
        write_modes: Mapping[str, str] | None = None,
        stale_after: float | None = None,
        row_stale_after: Mapping[str, float | str | None] | None = None,
        entry_id: str = "",
        cache: bool = True,
        build_view: bool = True,
        previous: Bridge | None = None,
    ) -> None:
        """Index the points by source and build the encoded view from the current states.

        `previous`: the running bridge this one replaces (a live edit). The points both serve
        (the same objects: `compile_table` keeps the unchanged rows' points) take its sources
        and, when the view is built, its values: those are current, since it follows every
        change until the swap, which runs in the same callback as the build.

        `build_view=False` leaves the view to `async_start` (which fills it anyway), for a
        bridge that is started right away: the states are then read once, not twice.
        `write_modes` maps a point's key (its row) to the row's write mode (`const.WRITE_MODES`;
        missing: the domain's default). `stale_after` is the device's maximum age of a source's
        last report in seconds (None: never stale); `row_stale_after` maps a point's key to its
        row's override (None or missing: the device's, 0: never, seconds: that).
        """
        self.hass = hass
        self.register_map = register_map
        self.owned = owned
        self.read_only = read_only
        self.write_timeout = write_timeout
        self.entry_id = entry_id
        self.cache = cache
        self._sources: dict[int, Source | None] = {}
        self._by_entity: dict[str, list[Point]] = {}
        self._owned_points: dict[str, list[Point]] = {}
        self._modes: dict[int, str] = {}
        modes = write_modes or {}
        row_ages = row_stale_after or {}
        ages: dict[str, list[tuple[Point, float]]] = {}
        # A point's write mode is its row's, so a point carried over keeps it with its source.
        known = previous._sources if previous is not None else {}
        known_modes = previous._modes if previous is not None else {}
        for point in register_map.points:
            key = id(point)
            if key in known:
                source, mode = known[key], known_modes[key]
            else:
                entity_id, attribute = split_source(point.source)
                binding = None if entity_id is None else get_binding(entity_id.partition(".")[0])
                source = None if entity_id is None else Source(entity_id, attribute, binding)
                mode = effective_write_mode(modes.get(point.key), binding)
            self._sources[key] = source
            self._modes[key] = mode
            if source is None:
                self._owned_points.setdefault(point.key, []).append(point)
                continue
            entity_id = source.entity_id
            self._by_entity.setdefault(entity_id, []).append(point)
            if (age := max_age(row_ages.get(point.key), stale_after)) is not None:
                ages.setdefault(entity_id, []).append((point, age))
        self.staleness = Staleness(hass, ages, self._async_stale_changed)
        self.staleness.scan(arm=False)  # the view below already serves what is stale now
        self._values: dict[int, object] = {}
        self._previous = previous if cache else None
        self._view: dict[Area, list[int] | bytearray] = {}
        self._unservable: dict[Area, bytearray] = {}
        """Per area, 1 for each position a read cannot be served from the view."""
        self._holes: dict[Area, list[int]] = {}
        self._zero_gaps = register_map.unmapped is UnmappedPolicy.ZERO
        self._logged: set[tuple[str, str]] = set()
        self._pending: dict[str, asyncio.Task[Any]] = {}
        self.counters: dict[str, int] = dict.fromkeys(WRITE_COUNTERS, 0)
        """Points applied/failed/timed out/skipped as unchanged, and writes refused as busy."""
        if cache and build_view:
            self._build_view()

    # --- values ------------------------------------------------------------------------------

    def current_value(self, point: Point) -> object:
        """The engineering value of a point right now, from hass.states or the owned store."""
        source = self._sources.get(id(point))
        if source is None:
            return self.owned.get(point.key)
        if source.binding is None or id(point) in self.staleness.stale:
            return UNAVAILABLE
        value = source.binding.read(
            self.hass.states.get(source.entity_id), point.area, source.attribute
        )
        return UNAVAILABLE if value is None else value

    def _cached_value(self, point: Point) -> object:
        return self._values.get(id(point), UNAVAILABLE)

    # --- the encoded view --------------------------------------------------------------------

    def _build_view(self) -> None:
        """Size one view per area to its highest mapped address and fill every point in.

        Coils and discrete inputs are a bytearray of one byte per bit (libmodbus's
        `tab_bits`): a read is then a bytearray slice, which the core packs without first
        converting a list (FC1 x2000 read and packed: 4 us instead of 8, bridge_bench).
        Registers are a list. A position that cannot be served (a gap under the `error`
        policy, a failing point) holds 0, is flagged in `_unservable` and listed in `_holes`.

        Replacing a running bridge (`previous`), the view starts as a copy of its view: the
        cells of its points that are gone are cleared, and only the points whose value was
        not taken over (new or changed rows, a changed staleness) and the bit points sharing
        a register are encoded; a one-row edit of a 5 000-row table encodes one point.
        """
        previous, self._previous = self._previous, None  # once: no chain of old bridges
        if previous is not None and previous._zero_gaps != self._zero_gaps:
            previous = None  # the gaps read differently: nothing of its view is reusable
        self._values, taken_over = self._current_values(previous)
        points = self.register_map.points
        ends: dict[Area, int] = {}
        for point in points:
            ends[point.area] = max(ends.get(point.area, 0), point.end_address + 1)
        gap = b"\x00" if self._zero_gaps else b"\x01"  # the flag of a position no point covers
        self._view, self._unservable = {}, {}
        for area, end in ends.items():
            old = previous._view.get(area) if previous is not None else None
            if previous is None or old is None:
                self._view[area] = bytearray(end) if area.is_bit else [0] * end
                self._unservable[area] = bytearray(gap) * end
                continue
            cells = bytearray(old) if area.is_bit else list(old)
            flags = bytearray(previous._unservable[area])
            del cells[end:], flags[end:]
            cells.extend(bytes(end - len(cells)))
            flags.extend(gap * (end - len(flags)))
            self._view[area], self._unservable[area] = cells, flags
        if previous is not None:
            for point in previous.register_map.points:
                if id(point) not in self._sources and point.area in ends:  # gone from the map
                    first = point.address
                    last = min(first + point.register_count, ends[point.area])
                    if first < last:
                        self._view[point.area][first:last] = bytes(last - first)
                        self._unservable[point.area][first:last] = gap * (last - first)
        bit = DataType.BIT
        for point in points:
            if id(point) not in taken_over or point.data_type is bit:
                self._encode(point, track_holes=False)
        self._holes = {
            area: [i for i, flag in enumerate(flags) if flag]
            for area, flags in self._unservable.items()
        }

    def _current_values(self, previous: Bridge | None) -> tuple[dict[int, object], set[int]]:
        """Every point's value, and which of them were taken over from `previous`.

        A value is taken over where `previous` has one and both bridges agree on whether the
        point is stale (a changed maximum age, or a deadline passed in between, reads it
        anew); every other point is read now.
        """
        points = self.register_map.points
        if previous is None or not previous._values:
            return {id(point): self.current_value(point) for point in points}, set()
        values, stale, was_stale = previous._values, self.staleness.stale, previous.staleness.stale
        current: dict[int, object] = {}
        taken_over: set[int] = set()
        for point in points:
            key = id(point)
            value = values.get(key, _UNKNOWN)
            if value is _UNKNOWN or (key in stale) != (key in was_stale):
                current[key] = self.current_value(point)
            else:
                current[key] = value
                taken_over.add(key)
        return current, taken_over

    def _encode(self, point: Point, *, track_holes: bool = True) -> bool:
        """Rewrite the cells of one point in the view; False: it cannot be served (a hole)."""
        area = point.area
        view = self._view[area]
        address = point.address
        end = address + point.register_count
        try:
            view[address:end] = self.register_map.read_point(point, self._cached_value)
            served = True
        except ModbusExceptionResponse:
            view[address:end] = bytes(end - address)  # zeros, in a list or a bytearray
            served = False
        flags = self._unservable[area]
        if flags.find(served, address, end) < 0:  # the flags say so already (the usual case)
            return served
        flags[address:end] = b"\x01" * (end - address) if not served else bytes(end - address)
        if track_holes:
            holes = self._holes[area]
            for position in range(address, end):
                index = bisect_left(holes, position)
                present = index < len(holes) and holes[index] == position
                if not served and not present:
                    holes.insert(index, position)
                elif served and present:
                    del holes[index]
        return served

    def _update(self, points: Sequence[Point]) -> None:
        for point in points:
            self._values[id(point)] = self.current_value(point)
        for point in points:
            self._encode(point)

    @callback
    def _async_state_changed(self, event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        self.staleness.async_reported(entity_id, event.time_fired_timestamp)
        if self.cache:
            self._update(self._by_entity.get(entity_id, ()))

    @callback
    def _async_stale_changed(self, points: Sequence[Point]) -> None:
        """Points went stale or were revived by a same-value report: re-encode them."""
        if self.cache:
            self._update(points)

    @callback
    def _async_owned_changed(self, key: str) -> None:
        self._update(self._owned_points.get(key, ()))

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow state changes of the mapped entities and owned values; returns the stopper.

        Without the view (`cache=False`) only the reports that keep staleness current are
        followed.
        """
        unsubscribers = [self.staleness.async_start()]
        entity_ids = list(self._by_entity) if self.cache else self.staleness.entity_ids
        if entity_ids:
            unsubscribers.append(
                async_track_state_change_event(self.hass, entity_ids, self._async_state_changed)
            )
        if self.cache:
            unsubscribers.append(self.owned.async_add_change_listener(self._async_owned_changed))
            self._build_view()  # states may have changed since __init__

        @callback
        def stop() -> None:
            for unsubscribe in unsubscribers:
                unsubscribe()

        return stop

    # --- server callbacks ----------------------------------------------------------------------

    def on_read(
        self, request: Request | None, area: Area, address: int, count: int
    ) -> Sequence[int]:
        """Serve a block read from the encoded view (sync; never waits).

        Registers come as a list, coils and discrete inputs as a bytearray of 0/1 bytes.
        """
        if self.cache:
            view = self._view.get(area)
            if view is not None and address >= 0 and address + count <= len(view):
                # Sorted positions that cannot be served: one bisect instead of a scan.
                holes = self._holes[area]
                index = bisect_left(holes, address)
                if index == len(holes) or holes[index] >= address + count:
                    return view[address : address + count]
            # A gap, a failing point or past the view: let the map raise (or zero-fill).
            return self.register_map.read(area, address, count, self._cached_value)
        return self.register_map.read(area, address, count, self.current_value)

    async def on_write(
        self, request: Request | None, area: Area, address: int, values: Sequence[int]
    ) -> None:
        """Validate and plan every point of the block, then apply the plan (see module doc).

        `request` is None for a write that does not come from a client (tests, services).
        """
        if self.read_only:
            raise IllegalFunction("this server is read-only")
        mask = None if request is None else request.mask
        writes: list[PointWrite] = []
        for point, value in self.register_map.write(area, address, values):
            if mask is not None and point.bit is not None and not mask >> point.bit & 1:
                continue  # FC22: the client's masks keep this bit as it is
            if not isinstance(value, bool | int | float | str):
                raise ServerDeviceFailure(f"{value!r} cannot be written")
            start = point.address - address
            raw = tuple(values[start : start + point.register_count])
            write = PointWrite(point, value, raw, self._sources.get(id(point)))
            self._check_target(write)
            if self._unchanged(write):
                self.counters[UNCHANGED] += 1
                continue
            writes.append(write)
        steps = plan_writes(writes, self._state)
        self._check_not_busy(steps)
        await self._apply(steps, request)

    # --- checks before anything is applied -----------------------------------------------

    def _unchanged(self, write: PointWrite) -> bool:
        """Whether the write leaves the point as it is and its write mode skips it then."""
        point = write.point
        if self._modes.get(id(point), WRITE_MODE_ON_CHANGE) == WRITE_MODE_ALWAYS:
            return False
        source = write.source
        if source is not None:
            binding, state = source.binding, self.hass.states.get(source.entity_id)
            if binding is None or state is None or not binding.is_settled(state):
                return False
        current = self.current_value(point)
        if current is UNAVAILABLE:
            return False
        codec = self.register_map.codec(point)
        try:
            return codec.encode(current) == codec.encode(write.value)
        except EncodingError, TypeError, ValueError:
            return False

    def _state(self, entity_id: str) -> State:
        state = self.hass.states.get(entity_id)
        assert state is not None  # checked by _check_target
        return state

    def _check_target(self, write: PointWrite) -> None:
        """Refuse a write to an entity that cannot take it (04) before anything is applied."""
        source = write.source
        if source is None:
            return
        state = self.hass.states.get(source.entity_id)
        if source.binding is None or state is None or state.state == STATE_UNAVAILABLE:
            why = "has no binding" if source.binding is None else "is unavailable or missing"
            self._log_once(
                (source.entity_id, "unavailable"),
                "Modbus write to %s refused: %s %s (answering SERVER DEVICE FAILURE)",
                write.point.label,
                source.entity_id,
                why,
            )
            raise ServerDeviceFailure(f"{source.entity_id} {why}")
        if not source.binding.writable(write.point.area, source.attribute):
            raise IllegalFunction(f"{source.entity_id} {source.attribute or 'state'} is read-only")
        self._logged.discard((source.entity_id, "unavailable"))

    def _check_not_busy(self, steps: Sequence[Step]) -> None:
        """Answer 06 at once when an entity's previous call still runs (no second task)."""
        for step in steps:
            entity_id = step.entity_id
            if entity_id is None or step.call is None:
                continue
            task = self._pending.get(entity_id)
            if task is not None and not task.done():
                self.counters[BUSY] += 1
                self._log_once(
                    (entity_id, "busy"),
                    "Modbus write to %s refused: its previous call %s still runs "
                    "(answering SERVER DEVICE BUSY)",
                    entity_id,
                    task.get_name(),
                )
                raise ServerDeviceBusy(f"the previous call to {entity_id} still runs")

    # --- applying the plan -------------------------------------------------------------------

    async def _apply(self, steps: Sequence[Step], request: Request | None) -> None:
        """Run the steps in order under one deadline; record each step's outcome."""
        running: tuple[Step, Context, float] | None = None
        try:
            async with asyncio.timeout(self.write_timeout):
                for step in steps:
                    context = Context()
                    running = (step, context, time.time())
                    if step.call is None:
                        for write in step.writes:
                            if write.source is None:
                                self.owned.set_from_modbus(write.point.key, write.value)
                    else:
                        try:
                            await self._call(step.entity_id, step.call, context)
                        except ModbusExceptionResponse as err:
                            self._record(running, request, RESULT_FAILED, str(err))
                            raise
                    self._record(running, request, RESULT_APPLIED)
                    running = None
        except TimeoutError as err:
            if running is not None:
                self._record(running, request, RESULT_TIMEOUT, "write deadline passed")
            self._log_once(
                ("timeout", str(steps[0].writes[0].point.area)),
                "Modbus write did not complete within %s s; answering SERVER DEVICE BUSY",
                self.write_timeout,
            )
            raise ServerDeviceBusy(f"write did not complete within {self.write_timeout} s") from err

    async def _call(self, entity_id: str | None, call: ServiceCall, context: Context) -> None:
        """Run one planned call (blocking, shielded); map its failure to a Modbus exception."""
        assert entity_id is not None  # a step with a call always targets an entity
        data: dict[str, Any] = {ATTR_ENTITY_ID: entity_id, **call.data}
        # A background task: a hung call does not hold up HA's start and is cancelled when HA
        # stops; `_pending` bounds it to one outstanding call per entity.
        task = self.hass.async_create_background_task(
            self.hass.services.async_call(
                call.domain, call.service, data, blocking=True, context=context
            ),
            f"{DOMAIN} write {call.domain}.{call.service} {entity_id}",
            eager_start=True,
        )
        if not task.done():
            self._pending[entity_id] = task
            task.add_done_callback(partial(self._call_done, entity_id))
        try:
            # Shielded: on the write deadline the client gets 06 but the call is not cut off
            # half-way through a device operation; its late outcome is logged.
            await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or not current.cancelling()):
                raise ServerDeviceFailure(f"{task.get_name()} was cancelled") from None
            task.add_done_callback(self._late_outcome)
            raise
        except probatio.Invalid as err:
            # The service's schema refused the data (a negative count without a minimum):
            # the value is wrong, not the device.
            self._log_once(
                (entity_id, "Invalid"),
                "Modbus write: %s.%s for %s refused the value (answering ILLEGAL DATA VALUE): %s",
                call.domain,
                call.service,
                entity_id,
                err,
            )
            raise IllegalDataValue(f"{call.domain}.{call.service} refused: {err}") from err
        except (HomeAssistantError, ValueError) as err:
            self._log_once(
                (entity_id, type(err).__name__),
                "Modbus write: %s.%s for %s failed (answering SERVER DEVICE FAILURE): %s",
                call.domain,
                call.service,
                entity_id,
                err,
            )
            raise ServerDeviceFailure(f"{call.domain}.{call.service} failed: {err}") from err
        self._logged = {key for key in self._logged if key[0] != entity_id}

    def _call_done(self, entity_id: str, task: asyncio.Task[Any]) -> None:
        if self._pending.get(entity_id) is task:
            del self._pending[entity_id]

    @staticmethod
    def _late_outcome(task: asyncio.Task[Any]) -> None:
        """Log how a call that outlived its write deadline ended."""
        if task.cancelled():
            return
        if (err := task.exception()) is not None:
            _LOGGER.warning("Modbus write: %s failed after the deadline: %s", task.get_name(), err)
        else:
            _LOGGER.debug("Modbus write: %s completed after the deadline", task.get_name())

    def _record(
        self,
        running: tuple[Step, Context, float],
        request: Request | None,
        result: str,
        error: str | None = None,
    ) -> None:
        """Fire `modbus_server_write` for every point of a step, with its outcome.

        Fired after the call, with the call's context and the time the call started: in
        the recorder the event then precedes the call and the state change it caused, so
        the logbook takes it as their origin and names the client on the entity's change.
        """
        step, context, started = running
        client = None if request is None else request.client
        for write in step.writes:
            self.counters[result] += 1
            point, source = write.point, write.source
            entity_id: str | None
            if source is None:
                entity_id = er.async_get(self.hass).async_get_entity_id(
                    OWNED_PLATFORMS[point.area], DOMAIN, point.key
                )
            else:
                entity_id = source.entity_id
            data: dict[str, Any] = {
                "entry_id": self.entry_id,
                "client": None if client is None else client.host,
                "client_port": None if client is None else client.port,
                # TLS: who the client's certificate says it is (None: plain TCP, or no role)
                "client_subject": None if client is None else client.subject,
                "client_role": None if client is None else client.role,
                "unit_id": None if request is None else request.unit_id,
                "area": str(point.area),
                "address": point.address,
                "bit": point.bit,
                "values": [int(v) for v in write.raw],
                "value": write.value,
                ATTR_ENTITY_ID: entity_id,
                "attribute": None if source is None else source.attribute,
                "point": point.name or point.key,
                "result": result,
            }
            if error is not None:
                data["error"] = error
            self.hass.bus.async_fire(EVENT_WRITE, data, context=context, time_fired=started)

    def _log_once(self, key: tuple[str, str], message: str, *args: object) -> None:
        """Warn the first time a problem occurs; repeat at debug level until it clears."""
        if key in self._logged:
            _LOGGER.debug(message, *args)
            return
        self._logged.add(key)
        _LOGGER.warning(message, *args)
