"""The compiled register map: block reads and all-or-nothing block writes.

Compiling turns the validated points into one dict per area, address -> (entry, offset of
that address inside the entry). A block read or write walks the block, jumping a whole
entry at a time, so its cost grows with the block (at most 125 registers / 2000 bits) and
never with the size of the map. Each entry holds its point's precompiled `ValueCodec` and
its precomputed 'unavailable' registers.

Modbus exception codes (Modbus Application Protocol v1.1b3, section 7):

* 02 IllegalDataAddress: a read touching an unmapped address (policy `error`); a write
  touching an unmapped or read-only address, or covering only part of a multi-register
  value; the block running past 65535.
* 03 IllegalDataValue: a quantity below 1; a written value that does not decode to a valid
  value (register > 65535, coil value other than 0/1, NaN/inf into a float point, invalid
  UTF-8 in a string).
* 04 ServerDeviceFailure: the source of a point is unavailable and the point has no
  unavailable value (bool/bit by default), or the provider's value does not fit the type.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import StrEnum

from ..modbus.area import Area
from ..modbus.exceptions import IllegalDataAddress, IllegalDataValue, ServerDeviceFailure
from .codec import ValueCodec, as_bool
from .datatypes import UNAVAILABLE, DataType, DecodingError, EncodingError, Registers
from .points import MAX_ADDRESS, MapValidationError, Point, validate_points

type Provider = Callable[[Point], object]


class UnmappedPolicy(StrEnum):
    """What a read does with addresses inside the block that no point covers."""

    ERROR = "error"
    """IllegalDataAddress (02), like most field devices."""
    ZERO = "zero"
    """Gaps read as 0, for SCADA that polls large blocks. Writes to gaps still fail (02)."""


class _ValueEntry:
    """One non-bit point: its codec, its 'unavailable' registers, its place in the area."""

    __slots__ = ("codec", "count", "encode", "point", "unavailable", "writable")

    def __init__(self, point: Point, codec: ValueCodec) -> None:
        self.point = point
        self.codec = codec
        self.encode = codec.encode
        self.count = codec.register_count
        self.writable = point.writable
        self.unavailable = codec.unavailable_registers(point.unavailable_value)

    def read(self, provider: Provider) -> Registers:
        point = self.point
        value = provider(point)
        if value is UNAVAILABLE or value is None:
            if self.unavailable is None:
                raise ServerDeviceFailure(f"{point.label} is unavailable")
            return self.unavailable
        try:
            return self.encode(value)
        except EncodingError as err:
            raise ServerDeviceFailure(f"{point.label}: {err}") from err

    def decode(self, registers: Sequence[int], out: list[tuple[Point, object]]) -> None:
        codec = self.codec
        try:
            value = codec.decode(tuple(registers))
        except DecodingError as err:
            raise IllegalDataValue(f"{self.point.label}: {err}") from err
        if isinstance(value, float) and not math.isfinite(value):
            raise IllegalDataValue(f"{self.point.label}: {value} is not a usable value")
        out.append((self.point, value))


class _BitRegisterEntry:
    """One register carrying BIT points: reads compose the bits, writes split them."""

    __slots__ = ("bits", "count", "point", "writable")

    def __init__(self, points: list[tuple[Point, ValueCodec]]) -> None:
        self.bits = [
            (point, 1 << point.bit, codec.unavailable_registers(point.unavailable_value))
            for point, codec in sorted(points, key=lambda pc: pc[0].bit or 0)
            if point.bit is not None
        ]
        self.point = self.bits[0][0]
        self.count = 1
        self.writable = self.point.writable  # validation: all bits of a register agree

    def read(self, provider: Provider) -> Registers:
        word = 0
        for point, mask, unavailable in self.bits:
            value = provider(point)
            if value is UNAVAILABLE or value is None:
                if unavailable is None:
                    raise ServerDeviceFailure(f"{point.label} is unavailable")
                if unavailable[0]:
                    word |= mask
                continue
            try:
                if as_bool(value):
                    word |= mask
            except EncodingError as err:
                raise ServerDeviceFailure(f"{point.label}: {err}") from err
        return (word,)

    def decode(self, registers: Sequence[int], out: list[tuple[Point, object]]) -> None:
        word = registers[0]
        out.extend((point, bool(word & mask)) for point, mask, _ in self.bits)


type _Entry = _ValueEntry | _BitRegisterEntry


class RegisterMap:
    """A validated, compiled address table serving block reads and writes.

    Raises MapValidationError (listing every problem) when the points are not a valid map.
    """

    def __init__(
        self,
        points: Iterable[Point],
        *,
        unmapped: UnmappedPolicy = UnmappedPolicy.ERROR,
        previous: RegisterMap | None = None,
    ) -> None:
        """Validate and compile `points`.

        `previous`: the map this one replaces (a live edit). Its points that are passed again,
        the same objects, keep their checks and codecs, so an edit of a few rows of a large
        table only checks those rows in isolation (the checks across the map run for all).
        """
        self.points: tuple[Point, ...] = tuple(points)
        self.unmapped = UnmappedPolicy(unmapped)
        known = previous._codecs if previous is not None else {}
        errors = validate_points(self.points, known_valid=known)
        if errors:
            raise MapValidationError(errors)
        self._codecs: dict[int, ValueCodec] = {}
        self._cells: dict[Area, dict[int, tuple[_Entry, int]]] = {area: {} for area in Area}
        # one byte per address, 1 where mapped: gap checks run in C (bytearray.find)
        self._mapped: dict[Area, bytearray] = {}
        spans: dict[Area, list[tuple[int, int]]] = {area: [] for area in Area}
        bit_groups: dict[tuple[Area, int], list[tuple[Point, ValueCodec]]] = {}
        codecs: dict[tuple[object, ...], ValueCodec] = {}
        carried_cells = previous._cells if previous is not None else {area: {} for area in Area}
        for point in self.points:
            codec = known.get(id(point))
            if codec is None:
                signature = (
                    point.data_type,
                    point.scale,
                    point.offset,
                    point.word_order,
                    point.byte_order,
                    point.length,
                )
                codec = codecs.get(signature)
                if codec is None:
                    codec = codecs[signature] = point.codec()
            self._codecs[id(point)] = codec
            if point.data_type is DataType.BIT:
                bit_groups.setdefault((point.area, point.address), []).append((point, codec))
                continue
            cells = self._cells[point.area]
            address = point.address
            old_cells = carried_cells[point.area]
            carried = old_cells.get(address)
            if carried is not None and carried[0].point is point:  # its entry and cells as they are
                entry = carried[0]
                for position in range(address, address + entry.count):
                    cells[position] = old_cells[position]
            else:
                entry = _ValueEntry(point, codec)
                for offset in range(entry.count):
                    cells[address + offset] = (entry, offset)
            spans[point.area].append((address, address + entry.count - 1))
        for (area, address), group in bit_groups.items():
            self._cells[area][address] = (_BitRegisterEntry(group), 0)
            spans[area].append((address, address))
        self._spans = {area: _merge_spans(area_spans) for area, area_spans in spans.items()}
        for area, area_spans in self._spans.items():
            mapped = bytearray(MAX_ADDRESS + 1)
            for first, last in area_spans:
                mapped[first : last + 1] = b"\x01" * (last - first + 1)
            self._mapped[area] = mapped
        self._error_on_gap = self.unmapped is UnmappedPolicy.ERROR

    def __len__(self) -> int:
        """Number of points."""
        return len(self.points)

    def __iter__(self) -> Iterator[Point]:
        """Iterate the points in input order."""
        return iter(self.points)

    # -- reads -------------------------------------------------------------------------

    def read(self, area: Area, address: int, count: int, provider: Provider) -> list[int]:
        """Serve a block read: registers 0..65535, or 0/1 per bit in coil/discrete areas.

        `provider(point)` returns the engineering value or UNAVAILABLE (None counts as
        unavailable too). Addresses are resolved first, so an IllegalDataAddress (02) is
        raised before any provider is called; ServerDeviceFailure (04) for an unavailable
        point without an unavailable value or a provider value that does not fit its type.
        Reading part of a multi-register value returns those registers of its encoding.
        """
        if count < 1:
            raise IllegalDataValue(f"quantity {count} must be at least 1")
        end = address + count
        if address < 0 or end > MAX_ADDRESS + 1:
            raise IllegalDataAddress(f"{area} {address}+{count} is outside 0..{MAX_ADDRESS}")
        if self._error_on_gap:
            gap = self._mapped[area].find(0, address, end)
            if gap >= 0:
                raise IllegalDataAddress(f"{area} {gap} is not mapped")
        cells = self._cells[area]
        out: list[int] = []
        extend = out.extend
        current = address
        while current < end:
            cell = cells.get(current)
            if cell is None:  # only with the ZERO policy
                out.append(0)
                current += 1
                continue
            entry, offset = cell
            registers = entry.read(provider)
            count = entry.count
            if offset == 0 and count <= end - current:
                extend(registers)
                current += count
            else:
                take = min(count - offset, end - current)
                extend(registers[offset : offset + take])
                current += take
        return out

    def read_point(self, point: Point, provider: Provider) -> Registers:
        """The registers (bits) of one of the map's points, as a block read of exactly them.

        For a bit point: its whole register, composed of every bit point in it. The same
        ServerDeviceFailure (04) as `read`; no address checks (the point is mapped). The
        bridge's view is kept up to date through this, one point per state change.
        """
        entry, _ = self._cells[point.area][point.address]
        return entry.read(provider)

    # -- writes ------------------------------------------------------------------------

    def write(self, area: Area, address: int, values: Sequence[int]) -> list[tuple[Point, object]]:
        """Split a block write into (point, engineering value) pairs, or reject all of it.

        Addresses are checked first: every address must belong to a writable point and the
        block must cover each multi-register value completely, else IllegalDataAddress
        (02). Then values: registers must be 0..65535 and coil values 0/1 (bools accepted),
        and every value must decode to a usable value, else IllegalDataValue (03). Nothing
        is returned unless everything passed. A register with bit points yields one bool
        per bit point; bits no point maps are ignored.
        """
        count = len(values)
        if not area.is_writable:
            raise IllegalDataAddress(f"{area} cannot be written")
        if count < 1:
            raise IllegalDataValue("a write needs at least one value")
        end = address + count
        if address < 0 or end > MAX_ADDRESS + 1:
            raise IllegalDataAddress(f"{area} {address}+{count} is outside 0..{MAX_ADDRESS}")
        cells = self._cells[area]
        plan: list[tuple[_Entry, int]] = []
        current = address
        while current < end:
            cell = cells.get(current)
            if cell is None:
                raise IllegalDataAddress(f"{area} {current} is not mapped")
            entry, offset = cell
            if offset or current + entry.count > end:
                raise IllegalDataAddress(
                    f"the write covers only part of {entry.point.label}; write all "
                    f"{entry.count} registers at once"
                )
            if not entry.writable:
                raise IllegalDataAddress(f"{entry.point.label} is read-only")
            plan.append((entry, current - address))
            current += entry.count
        limit = 1 if area.is_bit else 0xFFFF
        for value in values:
            if not isinstance(value, int) or not 0 <= value <= limit:
                raise IllegalDataValue(f"{value!r} is not a valid {area} value (0..{limit})")
        result: list[tuple[Point, object]] = []
        for entry, start in plan:
            if entry.count == 1:
                entry.decode((values[start],), result)
            else:
                entry.decode(values[start : start + entry.count], result)
        return result

    # -- helpers for the HA layer ------------------------------------------------------

    def codec(self, point: Point) -> ValueCodec:
        """The compiled codec of a point of this map (compiled on the fly for others)."""
        codec = self._codecs.get(id(point))
        if codec is None:
            return point.codec()
        return codec

    def encode(self, point: Point, value: object) -> tuple[int, ...]:
        """Engineering value -> registers, or (0|1,) for bool/bit points.

        EncodingError when the value does not fit. A BIT point encodes to its bit value,
        not to the whole register.
        """
        return self.codec(point).encode(value)

    def decode(self, point: Point, registers: Sequence[int]) -> object:
        """Registers -> engineering value (DecodingError when they form no valid value)."""
        return self.codec(point).decode(tuple(registers))

    def find(self, area: Area, address: int) -> Point | None:
        """The point covering `address` (for a register of bit points: the lowest bit)."""
        cell = self._cells[area].get(address)
        return None if cell is None else cell[0].point

    def find_all(self, area: Area, address: int) -> tuple[Point, ...]:
        """Every point covering `address` (several for a register of bit points)."""
        cell = self._cells[area].get(address)
        if cell is None:
            return ()
        entry = cell[0]
        if isinstance(entry, _BitRegisterEntry):
            return tuple(point for point, _, _ in entry.bits)
        return (entry.point,)

    def next_free_address(self, area: Area, register_count: int, start: int = 0) -> int:
        """Lowest address >= start where `register_count` consecutive addresses are free.

        ValueError when no such gap exists below 65536.
        """
        if register_count < 1:
            raise ValueError("register_count must be at least 1")
        candidate = max(start, 0)
        for first, last in self._spans[area]:
            if last < candidate:
                continue
            if first >= candidate + register_count:
                break
            candidate = last + 1
        if candidate + register_count - 1 > MAX_ADDRESS:
            raise ValueError(f"no {register_count} free consecutive addresses in {area}")
        return candidate


def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Occupied (first, last) spans of one area, sorted and merged where they touch."""
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and merged[-1][1] >= first - 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged
