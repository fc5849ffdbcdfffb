"""A profile compiled for one device: its `RegisterMap`, row values, reads and kept writes.

Every request takes one snapshot of the slot values, so a multi-register value is encoded
whole from one value (never half old, half new). A bound slot whose value is None
(unavailable, or older than the runtime's maximum age) makes every read touching its rows
answer ServerDeviceFailure (04) with `Stale.FAIL`, or read as the row's missing value with
`Stale.MISSING`. A slot that is not bound reads as the row's missing value or, where the
row declares one, the value derived from other slots (a total from its phases).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..modbus.area import Area
from ..modbus.device import Device, Request
from ..modbus.device_id import DeviceIdentification
from ..modbus.exceptions import IllegalDataValue, ServerDeviceFailure
from ..registermap import UNAVAILABLE, DataType, EncodingError, Point, RegisterMap
from .model import Const, FromIdentity, Held, Identity, Measure, Missing, Profile, Row

type SlotSource = Callable[[], Mapping[str, float | None]]


class Stale(StrEnum):
    """What a row answers while its bound slot has no current value."""

    FAIL = "fail"
    """ServerDeviceFailure (04): a zero-export controller sees a fault, not an old value."""
    MISSING = "missing"
    """The row's missing value (SunSpec: 'not implemented', NaN, 0x8000 ...)."""


class ProfileError(ValueError):
    """The options do not fit the profile (a required slot unbound, an unknown preset ...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """How one device uses a profile."""

    bound: frozenset[str]
    """Slots that have a source (an entity); the others read as missing or derived."""
    invert_power: bool = False
    """Negate signed slots (the source counts export positive, the profile import)."""
    stale: Stale = Stale.FAIL
    identity: Identity | None = None
    preset: str | None = None
    unit_id: int | None = None
    """Overrides the preset's and the profile's unit id."""
    overrides: Mapping[str, int | float | str] = field(default_factory=dict)
    """Constants by row name, on top of the preset's."""


class ProfileTable:
    """A profile compiled with its options: serve it with `device()`, show it with `values()`."""

    def __init__(self, profile: Profile, options: Options) -> None:
        """Check the options and compile the rows (ProfileError for unusable options).

        A required slot is satisfied by a source, or by sources for every slot its total
        derives from (power from the three phase powers).
        """
        self.profile = profile
        self.options = options
        names = {slot.name for slot in profile.slots}
        unknown = sorted(options.bound - names)
        if unknown:
            raise ProfileError(f"{profile.name} has no slot {', '.join(unknown)}")
        derivable = {
            row.source.slot
            for row in profile.rows
            if isinstance(row.source, Measure)
            and row.source.fallback
            and options.bound.issuperset(row.source.fallback)
        }
        missing = [
            s.name
            for s in profile.slots
            if s.required and s.name not in options.bound and s.name not in derivable
        ]
        if missing:
            raise ProfileError(f"{profile.name} needs a source for {', '.join(missing)}")
        overrides: dict[str, int | float | str] = {}
        unit_id = profile.unit_id
        if options.preset is not None:
            try:
                preset = profile.preset(options.preset)
            except KeyError:
                raise ProfileError(f"{profile.name} has no preset {options.preset!r}") from None
            overrides.update(preset.overrides)
            unit_id = preset.unit_id
        overrides.update(options.overrides)
        rows_by_name = {row.name: row for row in profile.rows}
        not_constant = sorted(
            name
            for name in overrides
            if not isinstance(getattr(rows_by_name.get(name), "source", None), Const)
        )
        if not_constant:
            raise ProfileError(f"{profile.name} has no constant row {', '.join(not_constant)}")
        self.unit_id = options.unit_id if options.unit_id is not None else unit_id
        self.identity = options.identity or profile.identity
        self._overrides = overrides
        self._signed = {s.name for s in profile.slots if s.signed}
        self._rows: dict[str, Row] = {}
        self.held: dict[str, int] = {}
        points: list[Point] = []
        for area in profile.areas:
            for row in profile.rows:
                key = f"{area}:{row.address}"
                self._rows[key] = row
                writable = isinstance(row.source, Held) and area is Area.HOLDING_REGISTER
                if isinstance(row.source, Held):
                    self.held.setdefault(row.name, row.source.initial)
                points.append(_point(area, row, key, writable))
            points.extend(_reserved(area, profile))
        self.table = RegisterMap(points)
        self._check_fixed_rows(points)

    def _check_fixed_rows(self, points: list[Point]) -> None:
        """Encode every constant and identity row once: bad text fails here, not on a read."""
        problems = []
        for point in points:
            row = self._rows.get(point.key)
            if row is None or not isinstance(row.source, Const | FromIdentity):
                continue
            value = self._row_value(row, {})
            try:
                self.table.encode(point, value)
            except EncodingError as err:
                problems.append(f"{row.name}: {err}")
        if problems:
            raise ProfileError(f"{self.profile.name}: " + "; ".join(dict.fromkeys(problems)))

    # -- values ------------------------------------------------------------------------

    def values(self, slots: Mapping[str, float | None]) -> dict[str, object]:
        """Every row's engineering value by row name (UNAVAILABLE where it has none)."""
        out: dict[str, object] = {}
        for row in self.profile.rows:
            value = self._row_value(row, slots)
            out[row.name] = UNAVAILABLE if value is _STALE else value
        return out

    def row(self, key: str) -> Row | None:
        """The profile row behind the point with this key (None: a reserved register)."""
        return self._rows.get(key)

    def value(self, key: str, slots: Mapping[str, float | None]) -> object:
        """The engineering value of the point with this key (UNAVAILABLE where it has none)."""
        row = self._rows.get(key)
        if row is None:  # a reserved register
            return 0
        value = self._row_value(row, slots)
        return UNAVAILABLE if value is _STALE else value

    def _row_value(self, row: Row, slots: Mapping[str, float | None]) -> object:
        source = row.source
        if isinstance(source, Measure):
            return self._measure(source, slots)
        if isinstance(source, Const):
            return self._overrides.get(row.name, source.value)
        if isinstance(source, Held):
            return self.held[row.name]
        if isinstance(source, Missing):
            return UNAVAILABLE
        if source.field == "unit_id":
            text = str(self.unit_id)
        else:
            text = getattr(self.identity, source.field)
        return text if source.encode is None else source.encode(text)

    def _measure(self, source: Measure, slots: Mapping[str, float | None]) -> object:
        bound = self.options.bound
        if source.slot in bound:
            names: tuple[str, ...] = (source.slot,)
        elif source.fallback and all(name in bound for name in source.fallback):
            names = source.fallback
        else:
            return UNAVAILABLE
        values = []
        for name in names:
            value = slots.get(name)
            if value is None:
                return _STALE
            values.append(-value if self.options.invert_power and name in self._signed else value)
        if source.combine == "difference":
            total = values[0] - sum(values[1:])
        else:
            total = sum(values)
            if source.combine == "mean":
                total /= len(values)
            elif source.combine == "positive":
                total = max(total, 0.0)
            elif source.combine == "negative":
                total = max(-total, 0.0)
        return total * source.factor

    # -- serving -----------------------------------------------------------------------

    def read(
        self, area: Area, address: int, count: int, slots: Mapping[str, float | None]
    ) -> list[int]:
        """Registers of a block read, all encoded from the one snapshot `slots`."""
        cache: dict[str, object] = {}

        def provider(point: Point) -> object:
            if not point.key:  # a reserved register inside a polled block
                return 0
            value = cache.get(point.key, _NOT_YET)
            if value is _NOT_YET:
                value = cache[point.key] = self._row_value(self._rows[point.key], slots)
            if value is _STALE:
                if self.options.stale is Stale.FAIL:
                    raise ServerDeviceFailure(f"{point.name} has no current value")
                return UNAVAILABLE
            return value

        return self.table.read(area, address, count, provider)

    def write(self, area: Area, address: int, values: Sequence[int]) -> None:
        """Keep a write to `Held` rows; 02 for any other register, 03 for a refused value."""
        pairs = self.table.write(area, address, values)
        accepted: list[tuple[str, int]] = []
        for point, value in pairs:
            row = self._rows[point.key]
            assert isinstance(row.source, Held)
            low, high = row.source.accept
            if not isinstance(value, int) or not low <= value <= high:
                raise IllegalDataValue(f"{row.name} accepts {low}..{high}, not {value!r}")
            accepted.append((row.name, value))
        self.held.update(accepted)

    def device(self, slots: SlotSource, *, name: str = "") -> Device:
        """A core `Device` serving this table on its unit id, slot values from `slots()`."""

        def on_read(request: Request, area: Area, address: int, count: int) -> list[int]:
            return self.read(area, address, count, slots())

        def on_write(
            request: Request, area: Area, address: int, values: list[int] | list[bool]
        ) -> None:
            self.write(area, address, [int(v) for v in values])

        identity = self.identity
        return Device(
            on_read=on_read,
            on_write=on_write,
            unit_ids=frozenset({self.unit_id}),
            identification=DeviceIdentification(
                vendor_name=identity.manufacturer,
                product_code=identity.model or self.profile.name,
                revision=identity.version,
                model_name=identity.model,
            ),
            name=name or self.profile.name,
        )


def compile_profile(
    profile: Profile,
    bound: Iterable[str],
    *,
    invert_power: bool = False,
    stale: Stale = Stale.FAIL,
    preset: str | None = None,
    identity: Identity | None = None,
) -> ProfileTable:
    """Shorthand for `ProfileTable(profile, Options(...))` with the common options."""
    options = Options(
        bound=frozenset(bound),
        invert_power=invert_power,
        stale=stale,
        preset=preset,
        identity=identity,
    )
    return ProfileTable(profile, options)


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


_STALE = _Marker("STALE")
_NOT_YET = _Marker("NOT_YET")


def _point(area: Area, row: Row, key: str, writable: bool) -> Point:
    return Point(
        area=area,
        address=row.address,
        data_type=row.data_type,
        name=row.name,
        scale=row.scale,
        word_order=row.word_order,
        byte_order=row.byte_order,
        length=row.length,
        writable=writable,
        unavailable_value=row.missing,
        unit=row.unit or None,
        key=key,
    )


def _reserved(area: Area, profile: Profile) -> list[Point]:
    """One read-only zero register per address of a range that no row covers."""
    used: set[int] = set()
    for row in profile.rows:
        count = (
            row.length if row.data_type is DataType.STRING else row.data_type.fixed_register_count
        )
        used.update(range(row.address, row.address + (count or 1)))
    return [
        Point(area=area, address=address, data_type=DataType.UINT16, name="reserved")
        for first, last in profile.ranges
        for address in range(first, last + 1)
        if address not in used
    ]
