"""The DomainBinding base class and the registry of bindings by domain.

A binding answers, for one Home Assistant domain: which Modbus areas an entity of that domain can
serve, which data type a point gets by default, how the entity's state (or one of its attributes)
becomes an engineering value, and how a value written by a Modbus client becomes a service call.

Bindings are pure: they read a `State` and return values or `ServiceCall`s; they never touch
`hass`. Validation against the entity's min/max/step/options happens here, so a bad value is
refused with IllegalDataValue (03) before anything is called.

Each domain module defines one subclass and decorates it with `@register`; the package imports
every module in this folder, so adding a domain means adding one module (as core's `homekit`
does with `type_*.py` and the TYPES registry).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import State

from ..const import WRITE_MODE_ON_CHANGE
from ..modbus.area import Area
from ..modbus.exceptions import IllegalDataValue, IllegalFunction
from ..registermap import DataType, EncodingError
from ..registermap.codec import as_number

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

type Value = bool | int | float | str
"""An engineering value: what a point carries before encoding / after decoding."""

BIT_AREAS: tuple[Area, ...] = (Area.COIL, Area.DISCRETE_INPUT)
REGISTER_AREAS: tuple[Area, ...] = (Area.HOLDING_REGISTER, Area.INPUT_REGISTER)
NOT_A_VALUE = frozenset({STATE_UNAVAILABLE, STATE_UNKNOWN, ""})

_BINDINGS: dict[str, DomainBinding] = {}


def register[B: type[DomainBinding]](cls: B) -> B:
    """Class decorator: register one instance of a binding under its domain."""
    _BINDINGS[cls.domain] = cls()
    return cls


def get_binding(domain: str) -> DomainBinding | None:
    """Return the binding of a domain, or None when the domain cannot be mapped."""
    return _BINDINGS.get(domain)


def supported_domains() -> list[str]:
    """Return every domain that has a binding, sorted."""
    return sorted(_BINDINGS)


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """A service call a Modbus write turns into; the bridge adds the entity_id as target."""

    domain: str
    service: str
    data: dict[str, Any] = field(default_factory=dict)


type Limit = float | str | None
"""A bound or step: a constant, the name of a state attribute holding it, or None (no check)."""


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """A numeric attribute served as a register value, optionally writable via a service."""

    data_type: str = "float32"
    service: str | None = None
    service_field: str | None = None
    minimum: Limit = None
    maximum: Limit = None
    step: Limit = None
    integer: bool = False
    extra: Callable[[State], dict[str, Any]] | None = None
    missing: Value | None = None
    """Read when the attribute is absent on an available entity (brightness of an off light)."""

    @property
    def writable(self) -> bool:
        """Whether a write to this attribute can become a service call."""
        return self.service is not None


def specs(**attributes: AttributeSpec) -> Mapping[str, AttributeSpec]:
    """Build a binding's read-only table of attribute specs (attribute name -> spec)."""
    return MappingProxyType(attributes)


def _attr_number(state: State, limit: Limit) -> float | None:
    """Resolve a limit: a constant, or the named attribute of the state (None when missing)."""
    if limit is None or isinstance(limit, float | int):
        return limit
    raw = state.attributes.get(limit)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw)


def state_number(raw: object) -> float | int | None:
    """A state string or attribute as a finite number; None when it is not one.

    Reads must not fail on odd states, so this wraps the codec's `as_number` (which raises)
    and also refuses nan/inf, which no register type can carry usefully.
    """
    if raw is None:
        return None
    try:
        number = as_number(raw)
    except EncodingError:
        return None
    return number if math.isfinite(number) else None


def as_epoch_seconds(raw: object) -> int | None:
    """Turn an ISO 8601 timestamp (state or attribute) into whole epoch seconds."""
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        return None
    return math.floor(moment.timestamp())


def as_bit(value: Value) -> bool:
    """Accept a value written to an on/off point: only 0 and 1 (else 03)."""
    if isinstance(value, str) or value not in (0, 1):
        raise IllegalDataValue(f"{value!r} is not 0 or 1")
    return bool(value)


_FLOAT32 = struct.Struct("<f")


def _float32(value: float) -> float:
    """`value` rounded to the nearest float32 (what a float32 register can carry)."""
    try:
        return float(_FLOAT32.unpack(_FLOAT32.pack(value))[0])
    except OverflowError:
        return value


def _near(value: float, target: float, scale: float) -> bool:
    """Whether `value` is `target` up to binary noise or float32 precision.

    Binary noise: scaled integers (215 x 0.1 = 21.500000000000004), a millionth of `scale`.
    float32 precision: a float32 carries about 7 significant digits, so 21.3 arrives as
    21.299999237...; a client cannot send anything closer, so a value whose float32 rounding
    is the target's is the target. This holds whatever codec the value came through: for
    float64 or scaled integers it only accepts deviations below 6e-8 of the value.
    """
    return abs(value - target) <= 1e-6 * scale or _float32(value) == _float32(target)


def check_range(
    value: float,
    minimum: float | None,
    maximum: float | None,
    step: float | None,
    *,
    what: str = "value",
) -> float:
    """Check a value against min/max/step; return it snapped onto the bound or step grid.

    Values within binary noise or float32 precision of a bound or grid value count as that
    value (see `_near`) and are sent as the exact bound or grid value, so a float32 21.3 is
    written as 21.3, not refused as off the 0.1 grid nor sent as 21.299999237.
    """
    if not math.isfinite(value):
        raise IllegalDataValue(f"{what} {value!r} is not a finite number")
    if minimum is not None and value < minimum:
        if not _near(value, minimum, 1e-3 * max(1.0, abs(minimum))):
            raise IllegalDataValue(f"{what} {value:g} is below the minimum {minimum:g}")
        value = float(minimum)
    if maximum is not None and value > maximum:
        if not _near(value, maximum, 1e-3 * max(1.0, abs(maximum))):
            raise IllegalDataValue(f"{what} {value:g} is above the maximum {maximum:g}")
        value = float(maximum)
    if step is not None and step > 0:
        base = minimum if minimum is not None else 0.0
        nearest = round((value - base) / step)
        grid = round(base + nearest * step, 10)
        if not _near(value, grid, step):
            raise IllegalDataValue(f"{what} {value:g} is not a multiple of the step {step:g}")
        value = grid
    return value


def clean_number(value: float, *, integer: bool = False) -> int | float:
    """Send integral values as int (brightness 128, not 128.0); refuse fractions where needed."""
    if float(value).is_integer():
        return int(value)
    if integer:
        raise IllegalDataValue(f"{value!r} is not a whole number")
    return value


class DomainBinding:
    """How entities of one domain map onto Modbus points.

    On/off-like domains set `is_binary` with `on_states` (state -> 1) and/or `off_states`
    (state -> 0): None for one of them means "every other available state"; a state outside both
    given sets reads as unavailable. A written 1/0 calls `turn_on_service`/`turn_off_service`
    (None: that value is accepted and does nothing, as 0 on a button). A numeric domain sets
    `register_state` and overrides `write_state`. Attributes served as registers are declared in
    `attribute_specs`; any other numeric attribute can still be read (read-only, float32).

    `default_write_mode` says whether a client writing the value the entity already has still
    calls the service (rows can override it, see `const.WRITE_MODES`): state-like domains skip
    it (`on_change`: a PLC rewriting its set-points every scan causes no calls), triggers whose
    call does something even without a change (press, start a script or timer) keep `always`.
    """

    domain: ClassVar[str]
    is_binary: ClassVar[bool] = False
    on_states: ClassVar[frozenset[str] | None] = None
    off_states: ClassVar[frozenset[str] | None] = None
    turn_on_service: ClassVar[str | None] = None
    turn_off_service: ClassVar[str | None] = None
    register_state: ClassVar[bool] = False
    state_data_type: ClassVar[str] = "float32"
    attribute_specs: ClassVar[Mapping[str, AttributeSpec]] = {}
    default_write_mode: ClassVar[str] = WRITE_MODE_ON_CHANGE
    settled_states: ClassVar[frozenset[str] | None] = None
    """States at rest, in which the points read what a write would make them (None: all).

    A 0/1 reading can merge a moving state into a resting one (a closing cover reads 1 like an
    open one); writing 1 then must open it, so a write-on-change row skips an unchanged value
    only while the entity is in one of these states.
    """

    # --- what the config flow offers -----------------------------------------------------------

    def areas(self, attribute: str | None) -> list[Area]:
        """Areas an entity (or one of its attributes) can serve.

        Readable sources are offered in both areas of their kind (a holding register can be a
        read-only copy for clients that only speak FC3); an on/off state is also offered as a
        register (0/1) unless the domain has a numeric state of its own. `writable()` says which
        of them accept writes.
        """
        if attribute is not None:
            return list(REGISTER_AREAS)
        areas: list[Area] = []
        if self.is_binary:
            areas += BIT_AREAS
        if self.is_binary or self.register_state:
            areas += REGISTER_AREAS
        return areas

    def attributes(self) -> list[str]:
        """Attributes offered for selection (others with a numeric value can be read too)."""
        return list(self.attribute_specs)

    def default_data_type(
        self, area: Area, attribute: str | None, state: State | None = None
    ) -> DataType:
        """Return the data type a new point gets unless the user picks another one.

        `state` (optional) lets a domain refine the choice, e.g. a timestamp sensor -> uint32.
        """
        return DataType(self.default_data_type_name(area, attribute, state))

    def default_data_type_name(
        self, area: Area, attribute: str | None, state: State | None = None
    ) -> str:
        """Name of the default data type (see `default_data_type`)."""
        if area.is_bit:
            return "bool"
        if attribute is not None:
            spec = self.attribute_specs.get(attribute)
            return spec.data_type if spec is not None else "float32"
        return self.state_data_type if self.register_state else "uint16"

    def writable(self, area: Area, attribute: str | None) -> bool:
        """Whether a write to this area/attribute can be turned into a service call."""
        if not area.is_writable:
            return False
        if attribute is not None:
            spec = self.attribute_specs.get(attribute)
            return spec is not None and spec.writable
        if area.is_bit or not self.register_state:
            return self.is_binary and (
                self.turn_on_service is not None or self.turn_off_service is not None
            )
        return self.state_writable()

    def state_writable(self) -> bool:
        """Whether a numeric state can be written (subclasses with `write_state` say True)."""
        return False

    # --- reads ---------------------------------------------------------------------------------

    def read(self, state: State | None, area: Area, attribute: str | None = None) -> Value | None:
        """Return the engineering value of a state or attribute; None when unavailable."""
        if state is None or state.state in NOT_A_VALUE:
            return None
        if attribute is not None:
            return self.read_attribute(state, attribute)
        if area.is_bit or not self.register_state:
            return self.read_bit(state)
        return self.read_state(state)

    def read_bit(self, state: State) -> int | None:
        """1/0 of an available state (None when the state is neither on nor off)."""
        if not self.is_binary:
            return None
        if self.on_states is not None and state.state in self.on_states:
            return 1
        if self.off_states is not None and state.state in self.off_states:
            return 0
        if self.on_states is None:
            return 1
        if self.off_states is None:
            return 0
        return None

    def read_state(self, state: State) -> Value | None:
        """Return the numeric value of an available state."""
        return state_number(state.state)

    def read_attribute(self, state: State, attribute: str) -> Value | None:
        """Value of a numeric attribute (booleans read 0/1, timestamps as epoch seconds)."""
        raw = state.attributes.get(attribute)
        if raw is None:
            spec = self.attribute_specs.get(attribute)
            return spec.missing if spec is not None else None
        number = state_number(raw)
        return number if number is not None else as_epoch_seconds(raw)

    # --- writes --------------------------------------------------------------------------------

    def is_settled(self, state: State) -> bool:
        """Whether the state is at rest, so a point reading the written value needs no call."""
        return self.settled_states is None or state.state in self.settled_states

    def write(
        self, state: State, area: Area, attribute: str | None, value: Value
    ) -> ServiceCall | None:
        """Return the service call for a written value (None: accepted, nothing to call).

        Raises IllegalDataValue (03) for a value outside what the entity accepts and
        IllegalFunction (01) for a source that cannot be written, before anything is called.
        """
        if not self.writable(area, attribute):
            raise IllegalFunction(f"{self.domain} {attribute or 'state'} cannot be written")
        if attribute is not None:
            return self.write_attribute(state, attribute, value)
        if area.is_bit or not self.register_state:
            return self.write_bit(state, as_bit(value))
        return self.write_state(state, value)

    def expected_state(
        self, state: State, attribute: str | None, call: ServiceCall | None
    ) -> State:
        """The state as it will be after `call`, as far as a later point of the entity needs it.

        A block write can carry several points of one entity (both ends of a temperature
        range); the write planner builds each point's call on this state instead of the stale
        one, so an `extra` that sends the other attribute along sends the value being written.
        """
        if attribute is None or call is None:
            return state
        spec = self.attribute_specs.get(attribute)
        field = attribute if spec is None else spec.service_field or attribute
        if field not in call.data:
            return state
        return State(
            state.entity_id,
            state.state,
            {**state.attributes, attribute: call.data[field]},
            validate_entity_id=False,
        )

    def write_bit(self, state: State, on: bool) -> ServiceCall | None:
        """1 -> turn_on_service, 0 -> turn_off_service."""
        service = self.turn_on_service if on else self.turn_off_service
        return None if service is None else ServiceCall(self.domain, service)

    def write_state(self, state: State, value: Value) -> ServiceCall | None:
        """Turn a written numeric state into a call (domains that support it override this)."""
        raise IllegalFunction(f"{self.domain} state cannot be written")

    def write_attribute(self, state: State, attribute: str, value: Value) -> ServiceCall:
        """Check a written attribute against the spec's min/max/step; return its service call."""
        spec = self.attribute_specs.get(attribute)
        if spec is None or spec.service is None:
            raise IllegalFunction(f"{self.domain} attribute {attribute} cannot be written")
        if isinstance(value, str):
            raise IllegalDataValue(f"{value!r} is not a number")
        checked = check_range(
            float(value),
            _attr_number(state, spec.minimum),
            _attr_number(state, spec.maximum),
            _attr_number(state, spec.step),
            what=attribute,
        )
        data: dict[str, Any] = {}
        if spec.extra is not None:
            data.update(spec.extra(state))
        data[spec.service_field or attribute] = clean_number(checked, integer=spec.integer)
        return ServiceCall(self.domain, spec.service, data)


class OnOffBinding(DomainBinding):
    """A domain whose state is on/off and that has turn_on/turn_off services."""

    is_binary: ClassVar[bool] = True
    on_states: ClassVar[frozenset[str]] = frozenset({"on"})
    off_states: ClassVar[frozenset[str] | None] = frozenset({"off"})
    turn_on_service: ClassVar[str | None] = "turn_on"
    turn_off_service: ClassVar[str | None] = "turn_off"


class SetValueBinding(DomainBinding):
    """A numeric state written with `<domain>.set_value` inside the min/max/step attributes."""

    register_state: ClassVar[bool] = True
    minimum: ClassVar[Limit] = "min"
    maximum: ClassVar[Limit] = "max"
    step: ClassVar[Limit] = "step"
    integer: ClassVar[bool] = False

    def state_writable(self) -> bool:
        """Say yes: the state is written with set_value."""
        return True

    def write_state(self, state: State, value: Value) -> ServiceCall | None:
        """set_value with the value checked against min/max/step."""
        if isinstance(value, str):
            raise IllegalDataValue(f"{value!r} is not a number")
        checked = check_range(
            float(value),
            _attr_number(state, self.minimum),
            _attr_number(state, self.maximum),
            _attr_number(state, self.step),
        )
        return ServiceCall(
            self.domain, "set_value", {"value": clean_number(checked, integer=self.integer)}
        )


class OptionBinding(DomainBinding):
    """A state that is one of a list of options: read as its index, written by index."""

    register_state: ClassVar[bool] = True
    state_data_type: ClassVar[str] = "uint16"
    options_attribute: ClassVar[str] = "options"
    select_service: ClassVar[str] = "select_option"
    select_field: ClassVar[str] = "option"

    def read_state(self, state: State) -> Value | None:
        """Index of the current option in the options list (None when not in it)."""
        options = state.attributes.get(self.options_attribute)
        if not isinstance(options, list | tuple):
            return None
        try:
            return list(options).index(state.state)
        except ValueError:
            return None

    def state_writable(self) -> bool:
        """Say yes: an option can be selected by its index."""
        return True

    def write_state(self, state: State, value: Value) -> ServiceCall | None:
        """select_option with the option at the written index (03 when out of range)."""
        options = state.attributes.get(self.options_attribute)
        if not isinstance(options, list | tuple):
            raise IllegalDataValue(f"{state.entity_id} has no options")
        if isinstance(value, str) or not float(value).is_integer():
            raise IllegalDataValue(f"{value!r} is not an option index")
        index = int(value)
        if not 0 <= index < len(options):
            raise IllegalDataValue(f"option index {index} is not in 0..{len(options) - 1}")
        return ServiceCall(self.domain, self.select_service, {self.select_field: options[index]})
