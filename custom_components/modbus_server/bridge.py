"""The server's callbacks: register map <-> entity states and service calls.

Reads never wait. The bridge keeps an *encoded view* of every mapped area: one list of
registers (or 0/1 bits) per area, rewritten for the points of an entity whenever that entity's
state changes (`async_track_state_change_event`) or an owned point's value changes. A read is
then a list slice; only a block touching a gap or a point that cannot be served (unavailable
without an unavailable value) goes through `RegisterMap.read`, which raises the right Modbus
exception (or fills gaps with zeros under the `zero` policy).

Why a cache rather than reading `hass.states` on each request - measured by
`tests/ha/test_bridge_perf.py` (FC3 x 125 registers over 60 points, in process): the view
serves 231,000-546,000 block reads/s (2-4 us each), reading the 60 states through the bindings
and encoding them per request 5,300-9,600/s (100-190 us), 40-90x slower. The view costs
14-21 us per state change of a mapped entity instead, paid once per change rather than once
per poll, and SCADA polls far more often than most entities change. The view is updated
synchronously inside the state change dispatch, so a read right after
`hass.states.async_set` already sees the new value. Pass `cache=False` to serve every read
from `hass.states` directly (used by the measurement).

Writes: `RegisterMap.write` splits the block into per-point values (all-or-nothing at the
map level), then every point's binding validates its value against the entity's
min/max/step/options and builds its service call - all of them before the first call, so a
refused value (IllegalDataValue 03) or an unavailable/missing entity (ServerDeviceFailure 04)
applies nothing. Then each call runs with `blocking=True` under one deadline of
`write_timeout` seconds for the whole request (ServerDeviceBusy 06 on timeout - the call is
not cancelled, a half-done device operation is worse than a late one; a failing call
answers ServerDeviceFailure 04 and is logged once per entity and error until it succeeds
again); the Modbus response goes out only after the calls returned. A failure in the middle
of a multi-point write leaves the earlier calls applied (services cannot be rolled back).

Every applied point fires `modbus_server_write` (client host/port/unit id, area, address,
bit, raw values, engineering value, entity_id, attribute) with the same `Context` as its
service call, fired just before the call as core's `homekit` does, so the logbook and
automations can tell the state change came from that Modbus client (`logbook.py` describes
the event). The context has no user (a Modbus client is not a Home Assistant user); the
client is named in the event.

Read-only servers answer every write with IllegalFunction (01) - the same code the server
itself sends when it has no write callback - because the function, not the address, is
what is refused.
"""

from __future__ import annotations

import asyncio
import logging
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import (
    CALLBACK_TYPE,
    Context,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event

from .bindings import DomainBinding, ServiceCall, get_binding
from .const import DOMAIN, EVENT_WRITE
from .modbus import (
    Area,
    IllegalFunction,
    ModbusExceptionResponse,
    ServerDeviceBusy,
    ServerDeviceFailure,
)
from .registermap import UNAVAILABLE, UnmappedPolicy

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .modbus import ClientInfo, Request
    from .owned import OwnedStore
    from .registermap import Point, RegisterMap

_LOGGER = logging.getLogger(__name__)

OWNED_PLATFORM = {
    Area.COIL: "switch",
    Area.DISCRETE_INPUT: "binary_sensor",
    Area.HOLDING_REGISTER: "number",
    Area.INPUT_REGISTER: "sensor",
}


@dataclass(frozen=True, slots=True)
class Source:
    """Where a point's value comes from: an entity (and attribute) through its binding."""

    entity_id: str
    attribute: str | None
    binding: DomainBinding | None
    """None for a domain without binding: the point reads unavailable and refuses writes."""


def parse_source(source: str) -> tuple[str, str | None]:
    """Split `Point.source` ('light.x' or 'light.x#brightness') into entity id and attribute."""
    entity_id, _, attribute = source.partition("#")
    return entity_id, attribute or None


class Bridge:
    """on_read/on_write for a `Server`, backed by entity states, services and owned values."""

    def __init__(
        self,
        hass: HomeAssistant,
        register_map: RegisterMap,
        owned: OwnedStore,
        *,
        read_only: bool = False,
        write_timeout: float = 5.0,
        entry_id: str = "",
        cache: bool = True,
    ) -> None:
        """Index the points by source and build the encoded view from the current states."""
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
        for point in register_map.points:
            if point.source is None:
                self._sources[id(point)] = None
                self._owned_points.setdefault(point.key, []).append(point)
                continue
            entity_id, attribute = parse_source(point.source)
            binding = get_binding(entity_id.partition(".")[0])
            self._sources[id(point)] = Source(entity_id, attribute, binding)
            self._by_entity.setdefault(entity_id, []).append(point)
        self._values: dict[int, object] = {}
        self._view: dict[Area, list[int | None]] = {}
        self._holes: dict[Area, list[int]] = {}
        self._zero_gaps = register_map.unmapped is UnmappedPolicy.ZERO
        self._logged: set[tuple[str, str]] = set()
        if cache:
            self._build_view()

    # --- values ------------------------------------------------------------------------------

    def current_value(self, point: Point) -> object:
        """The engineering value of a point right now, from hass.states or the owned store."""
        source = self._sources.get(id(point))
        if source is None:
            return self.owned.get(point.key)
        if source.binding is None:
            return UNAVAILABLE
        value = source.binding.read(
            self.hass.states.get(source.entity_id), point.area, source.attribute
        )
        return UNAVAILABLE if value is None else value

    def _cached_value(self, point: Point) -> object:
        return self._values.get(id(point), UNAVAILABLE)

    # --- the encoded view --------------------------------------------------------------------

    def _build_view(self) -> None:
        """Size one list per area to its highest mapped address and fill every point in."""
        self._values = {id(point): self.current_value(point) for point in self.register_map.points}
        ends: dict[Area, int] = {}
        for point in self.register_map.points:
            ends[point.area] = max(ends.get(point.area, 0), point.end_address + 1)
        gap = 0 if self._zero_gaps else None
        self._view = {area: [gap] * end for area, end in ends.items()}
        for point in self.register_map.points:
            self._encode(point, track_holes=False)
        self._holes = {
            area: [i for i, cell in enumerate(view) if cell is None]
            for area, view in self._view.items()
        }

    def _encode(self, point: Point, *, track_holes: bool = True) -> None:
        """Rewrite the cells of one point in the view (None where a read must fail)."""
        view = self._view[point.area]
        count = point.register_count
        try:
            cells: list[int | None] = list(
                self.register_map.read(point.area, point.address, count, self._cached_value)
            )
        except ModbusExceptionResponse:
            cells = [None] * count
        view[point.address : point.address + count] = cells
        if track_holes:
            holes = self._holes[point.area]
            for position, cell in enumerate(cells, point.address):
                index = bisect_left(holes, position)
                present = index < len(holes) and holes[index] == position
                if cell is None and not present:
                    holes.insert(index, position)
                elif cell is not None and present:
                    del holes[index]

    def _update(self, points: Sequence[Point]) -> None:
        for point in points:
            self._values[id(point)] = self.current_value(point)
        for point in points:
            self._encode(point)

    @callback
    def _async_state_changed(self, event: Event[EventStateChangedData]) -> None:
        self._update(self._by_entity.get(event.data["entity_id"], ()))

    @callback
    def _async_owned_changed(self, key: str) -> None:
        self._update(self._owned_points.get(key, ()))

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow state changes of the mapped entities and owned values; returns the stopper."""
        if not self.cache:
            return lambda: None
        unsubscribers = [self.owned.async_add_change_listener(self._async_owned_changed)]
        if self._by_entity:
            unsubscribers.append(
                async_track_state_change_event(
                    self.hass, list(self._by_entity), self._async_state_changed
                )
            )
        self._build_view()  # states may have changed since __init__

        @callback
        def stop() -> None:
            for unsubscribe in unsubscribers:
                unsubscribe()

        return stop

    # --- server callbacks ----------------------------------------------------------------------

    def on_read(self, request: Request | None, area: Area, address: int, count: int) -> list[int]:
        """Serve a block read from the encoded view (sync; never waits)."""
        if self.cache:
            view = self._view.get(area)
            if view is not None and address >= 0 and address + count <= len(view):
                # Sorted positions that cannot be served: one bisect instead of a scan.
                holes = self._holes[area]
                index = bisect_left(holes, address)
                if index == len(holes) or holes[index] >= address + count:
                    return view[address : address + count]  # type: ignore[return-value]
            # A gap, a failing point or past the view: let the map raise (or zero-fill).
            return self.register_map.read(area, address, count, self._cached_value)
        return self.register_map.read(area, address, count, self.current_value)

    async def on_write(
        self, request: Request | None, area: Area, address: int, values: Sequence[int]
    ) -> None:
        """Validate every point of the block, then apply them in order (see module doc).

        `request` is None for a write that does not come from a client (tests, services).
        """
        if self.read_only:
            raise IllegalFunction("this server is read-only")
        client = None if request is None else request.client
        unit_id = None if request is None else request.unit_id
        pairs = self.register_map.write(area, address, values)
        plan: list[tuple[Point, object, Source | None, ServiceCall | None]] = []
        for point, value in pairs:
            source = self._sources.get(id(point))
            if source is None:
                plan.append((point, value, None, None))
                continue
            plan.append((point, value, source, self._service_call(source, point, value)))
        context = Context()
        try:
            async with asyncio.timeout(self.write_timeout):
                for point, value, source, call in plan:
                    start = point.address - address
                    raw = list(values[start : start + point.register_count])
                    self._fire(
                        context=context,
                        client=client,
                        point=point,
                        unit_id=unit_id,
                        raw=raw,
                        value=value,
                        source=source,
                    )
                    if source is None:
                        self.owned.set_from_modbus(point.key, value)
                    elif call is not None:
                        await self._call(source, call, context)
        except TimeoutError as err:
            self._log_once(
                ("timeout", str(area)),
                "Modbus write to %s %s did not complete within %s s; answering SERVER DEVICE BUSY",
                area,
                address,
                self.write_timeout,
            )
            raise ServerDeviceBusy(f"write did not complete within {self.write_timeout} s") from err

    def _service_call(self, source: Source, point: Point, value: object) -> ServiceCall | None:
        """The call for one point's value; raises before anything is applied when refused."""
        state = self.hass.states.get(source.entity_id)
        if source.binding is None or state is None or state.state == STATE_UNAVAILABLE:
            why = "has no binding" if source.binding is None else "is unavailable or missing"
            self._log_once(
                (source.entity_id, "unavailable"),
                "Modbus write to %s refused: %s %s (answering SERVER DEVICE FAILURE)",
                point.label,
                source.entity_id,
                why,
            )
            raise ServerDeviceFailure(f"{source.entity_id} {why}")
        if not isinstance(value, bool | int | float | str):
            raise ServerDeviceFailure(f"{value!r} cannot be written")
        call = source.binding.write(state, point.area, source.attribute, value)
        self._logged.discard((source.entity_id, "unavailable"))
        return call

    async def _call(self, source: Source, call: ServiceCall, context: Context) -> None:
        data: dict[str, Any] = {ATTR_ENTITY_ID: source.entity_id, **call.data}
        task = self.hass.async_create_task(
            self.hass.services.async_call(
                call.domain, call.service, data, blocking=True, context=context
            ),
            f"{DOMAIN} write {call.domain}.{call.service} {source.entity_id}",
            eager_start=True,
        )
        try:
            # Shielded: on the write deadline the client gets 06 but the call is not cut off
            # half-way through a device operation; its late outcome is logged.
            await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._late_outcome)
            raise
        except (HomeAssistantError, ValueError) as err:  # vol.Invalid is a ValueError
            self._log_once(
                (source.entity_id, type(err).__name__),
                "Modbus write: %s.%s for %s failed (answering SERVER DEVICE FAILURE): %s",
                call.domain,
                call.service,
                source.entity_id,
                err,
            )
            raise ServerDeviceFailure(f"{call.domain}.{call.service} failed: {err}") from err
        self._logged = {key for key in self._logged if key[0] != source.entity_id}

    @staticmethod
    def _late_outcome(task: asyncio.Task[Any]) -> None:
        """Log how a call that outlived its write deadline ended."""
        if task.cancelled():
            return
        if (err := task.exception()) is not None:
            _LOGGER.warning("Modbus write: %s failed after the deadline: %s", task.get_name(), err)
        else:
            _LOGGER.debug("Modbus write: %s completed after the deadline", task.get_name())

    def _fire(
        self,
        *,
        context: Context,
        client: ClientInfo | None,
        unit_id: int | None,
        point: Point,
        raw: list[int],
        value: object,
        source: Source | None,
    ) -> None:
        entity_id: str | None
        if source is None:
            entity_id = er.async_get(self.hass).async_get_entity_id(
                OWNED_PLATFORM[point.area], DOMAIN, point.key
            )
        else:
            entity_id = source.entity_id
        self.hass.bus.async_fire(
            EVENT_WRITE,
            {
                "entry_id": self.entry_id,
                "client": None if client is None else client.host,
                "client_port": None if client is None else client.port,
                "unit_id": unit_id,
                "area": str(point.area),
                "address": point.address,
                "bit": point.bit,
                "values": [int(v) for v in raw],
                "value": value,
                ATTR_ENTITY_ID: entity_id,
                "attribute": None if source is None else source.attribute,
                "point": point.name or point.key,
            },
            context=context,
        )

    def _log_once(self, key: tuple[str, str], message: str, *args: object) -> None:
        """Warn the first time a problem occurs; repeat at debug level until it clears."""
        if key in self._logged:
            _LOGGER.debug(message, *args)
            return
        self._logged.add(key)
        _LOGGER.warning(message, *args)
