"""The Point model and its validation, with one message per field that a UI can show.

A `Point` is plain data (frozen, hashable): no behaviour beyond derived properties, so the
Home Assistant layer can build, store and compare points freely. `validate_point` checks
one point in isolation; `validate_points` adds what only the whole map can show (overlaps,
bit points sharing a register). `RegisterMap` runs both before compiling.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable
from dataclasses import dataclass
from functools import lru_cache

from ..modbus.area import Area
from .codec import ValueCodec
from .datatypes import (
    MAX_STRING_REGISTERS,
    ByteOrder,
    DataType,
    EncodingError,
    WordOrder,
    layout_name,
)
from .plc import format_plc_address, plc_address

MAX_ADDRESS = 65_535


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One value mapped to an area and a start address (0-based, as on the wire)."""

    area: Area
    address: int
    data_type: DataType
    name: str = ""
    description: str = ""
    scale: float = 1.0
    """engineering = raw * scale + offset"""
    offset: float = 0.0
    word_order: WordOrder = WordOrder.BIG
    byte_order: ByteOrder = ByteOrder.BIG
    bit: int | None = None
    """0..15, only for DataType.BIT (bit 0 = least significant bit of the register)."""
    length: int | None = None
    """Registers, only for DataType.STRING (2 bytes each)."""
    writable: bool = False
    unavailable_value: float | str | None = None
    """Engineering value served while the source is unavailable (None: per-type default)."""
    unit: str | None = None
    source: str | None = None
    """Free text for the HA layer, e.g. 'sensor.boiler_temp' or 'climate.x#current_temperature'."""
    key: str = ""
    """Opaque id for the HA layer (a config subentry id); not validated."""

    @property
    def register_count(self) -> int:
        """Registers (or bits, in coil/discrete input areas) the point occupies."""
        if self.data_type is DataType.STRING:
            return self.length or 0
        count = self.data_type.fixed_register_count
        return count if count is not None else 0

    @property
    def end_address(self) -> int:
        """Last address the point occupies (inclusive)."""
        return self.address + self.register_count - 1

    def codec(self) -> ValueCodec:
        """The codec of this point (the point must have passed validation)."""
        return ValueCodec.build(
            self.data_type,
            scale=self.scale,
            offset=self.offset,
            word_order=self.word_order,
            byte_order=self.byte_order,
            length=self.length,
        )

    @property
    def plc_address(self) -> int:
        """1-based PLC reference as a number (40001 ...; 6-digit 400001 form past 9999)."""
        return plc_address(self.area, self.address)

    @property
    def plc_reference(self) -> str:
        """PLC reference formatted for display, zero padded ('00001', '40001', '410000')."""
        return format_plc_address(self.area, self.address)

    @property
    def layout(self) -> str:
        """Word/byte order as its 4-letter name (ABCD, CDAB, BADC, DCBA)."""
        return layout_name(self.word_order, self.byte_order)

    @property
    def label(self) -> str:
        """Short identification for messages: name (or area+reference) and location."""
        where = f"{self.area} {self.address}"
        if self.register_count > 1:
            where += f"..{self.end_address}"
        if self.data_type is DataType.BIT and self.bit is not None:
            where += f" bit {self.bit}"
        return f"'{self.name}' ({where})" if self.name else f"({where})"


@dataclass(frozen=True, slots=True)
class FieldError:
    """A problem with one field of one point; `index` is its position in the map input."""

    field: str
    message: str
    index: int | None = None
    name: str = ""
    related: int | None = None
    """Index of the other point involved (overlaps), if any."""

    def __str__(self) -> str:
        who = []
        if self.index is not None:
            who.append(f"point #{self.index + 1}")
        if self.name:
            who.append(f"'{self.name}'")
        text = f"{self.field}: {self.message}"
        if self.related is not None:
            text += f" (point #{self.related + 1})"
        return f"{' '.join(who)}: {text}" if who else text


class MapValidationError(ValueError):
    """The map cannot be compiled; `errors` lists every problem found, not just the first."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__(
            f"{len(self.errors)} problem(s) in the register map:\n"
            + "\n".join(f"  - {error}" for error in self.errors)
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_point(point: Point) -> list[FieldError]:
    """Check one point in isolation; an empty list means it is valid."""
    return [FieldError(field, message, name=point.name) for field, message in _problems(point)]


def _problems(point: Point) -> list[tuple[str, str]]:
    """(field, message) for every problem of one point."""
    problems: list[tuple[str, str]] = []
    address: object = point.address
    address_ok = _is_int(address) and 0 <= point.address <= MAX_ADDRESS
    if not address_ok:
        problems.append(("address", f"must be a whole number from 0 to {MAX_ADDRESS}"))
    name: object = point.name
    if not isinstance(name, str):
        problems.append(("name", "must be text"))
    shape = (
        point.area,
        point.data_type,
        point.word_order,
        point.byte_order,
        point.bit,
        point.length,
        point.scale,
        point.offset,
        point.writable,
        point.unavailable_value,
    )
    try:
        # the types are part of the key: 1 == 1.0 == True, but True is no valid scale
        shape_problems = _cached_shape_problems(shape, tuple(map(type, shape)))
    except TypeError:  # an unhashable field value: check without the cache
        shape_problems = _shape_problems(shape)
    problems.extend(shape_problems)
    if address_ok and not shape_problems:
        count = point.register_count
        if point.address + count - 1 > MAX_ADDRESS:
            problems.append(
                (
                    "address",
                    f"{point.data_type} needs {count} registers: {point.address} + {count} "
                    f"runs past {MAX_ADDRESS}",
                )
            )
    return problems


def _shape_problems(shape: tuple[object, ...]) -> tuple[tuple[str, str], ...]:
    """Problems of everything but the address: shared by many points, hence cached.

    The arguments are typed `object` on purpose: points may come from untyped sources
    (config entries, JSON), and each field is checked before it is trusted.
    """
    (
        area,
        data_type,
        word_order,
        byte_order,
        bit,
        length,
        scale,
        offset,
        writable,
        unavailable_value,
    ) = shape
    problems: list[tuple[str, str]] = []

    def error(field: str, message: str) -> None:
        problems.append((field, message))

    if not isinstance(area, Area):
        error("area", f"unknown area {area!r}; use one of {', '.join(Area)}")
    if not isinstance(data_type, DataType):
        error("data_type", f"unknown data type {data_type!r}; use one of {', '.join(DataType)}")
    if not isinstance(word_order, WordOrder):
        error("word_order", f"unknown word order {word_order!r}; use big or little")
    if not isinstance(byte_order, ByteOrder):
        error("byte_order", f"unknown byte order {byte_order!r}; use big or little")
    if not isinstance(writable, bool):
        error("writable", "must be true or false")
    elif isinstance(area, Area) and writable and not area.is_writable:
        error(
            "writable",
            f"a {area} is read-only for Modbus clients; only coils and "
            "holding registers can be writable",
        )
    if not isinstance(data_type, DataType):
        return tuple(problems)
    if isinstance(area, Area):
        if area.is_bit and data_type is not DataType.BOOL:
            error("data_type", f"a {area} holds single bits; use bool")
        elif not area.is_bit and data_type is DataType.BOOL:
            error(
                "data_type",
                f"a {area} holds 16-bit registers; use bit (one bit of a register) or a "
                "number type instead of bool",
            )

    # bit / length apply to one type each
    if data_type is DataType.BIT:
        if not (_is_int(bit) and 0 <= bit <= 15):  # type: ignore[operator]
            error("bit", "bit points need a bit number from 0 (least significant) to 15")
    elif bit is not None:
        error("bit", "only bit points have a bit number")
    if data_type is DataType.STRING:
        if not (_is_int(length) and 1 <= length <= MAX_STRING_REGISTERS):  # type: ignore[operator]
            error(
                "length",
                f"strings need a length of 1 to {MAX_STRING_REGISTERS} registers "
                "(2 characters each)",
            )
    elif length is not None:
        error("length", "only strings have a length; the type fixes the register count")

    # scale/offset only change numbers
    if data_type.is_numeric:
        if not (_is_real(scale) and math.isfinite(scale)):  # type: ignore[arg-type]
            error("scale", "must be a finite number")
        elif scale == 0:
            error("scale", "must not be 0 (engineering = raw x scale + offset)")
        if not (_is_real(offset) and math.isfinite(offset)):  # type: ignore[arg-type]
            error("offset", "must be a finite number")
    else:
        if scale != 1:
            error("scale", f"{data_type} values are not scaled; leave scale at 1")
        if offset != 0:
            error("offset", f"{data_type} values are not scaled; leave offset at 0")

    if data_type.is_bit and (word_order is not WordOrder.BIG or byte_order is not ByteOrder.BIG):
        error("word_order", f"word/byte order does not apply to {data_type}; leave it ABCD")
    if data_type is DataType.STRING and word_order is not WordOrder.BIG:
        error(
            "word_order",
            "word order does not apply to strings (characters stay in register "
            "sequence); use ABCD or BADC",
        )

    if problems:
        return tuple(problems)
    codec = ValueCodec.build(
        data_type,
        scale=scale,  # type: ignore[arg-type]
        offset=offset,  # type: ignore[arg-type]
        word_order=word_order,  # type: ignore[arg-type]
        byte_order=byte_order,  # type: ignore[arg-type]
        length=length,  # type: ignore[arg-type]
    )
    if unavailable_value is not None:
        if data_type is DataType.STRING and not isinstance(unavailable_value, str):
            error("unavailable_value", "must be text for a string point")
        elif data_type is not DataType.STRING and isinstance(unavailable_value, str):
            error("unavailable_value", f"must be a number for a {data_type} point")
        else:
            try:
                codec.encode(unavailable_value)
            except EncodingError as err:
                error("unavailable_value", str(err))
    return tuple(problems)


@lru_cache(maxsize=4096)
def _cached_shape_problems(
    shape: tuple[object, ...], _types: tuple[type, ...]
) -> tuple[tuple[str, str], ...]:
    return _shape_problems(shape)


def validate_points(
    points: Iterable[Point], *, known_valid: Container[int] = ()
) -> list[FieldError]:
    """Validate every point, then overlaps and shared bit registers across the map.

    Errors carry the point's index in `points`. Overlap messages name both points and the
    clashing addresses; bit points of one register overlap only when they use the same bit.
    `known_valid` holds the `id()` of points already checked in isolation (a live edit's
    unchanged rows, still held by the map they were compiled into): only the checks across
    the map are run for them.
    """
    points = list(points)
    errors: list[FieldError] = []
    # per area: (address, end address, bit or -1, index) of each valid point
    spans: dict[Area, list[tuple[int, int, int, int]]] = {}
    bit_type = DataType.BIT
    for index, point in enumerate(points):
        problems = [] if id(point) in known_valid else _problems(point)
        if problems:
            errors.extend(
                FieldError(field, message, index, point.name) for field, message in problems
            )
            continue
        address = point.address
        if point.data_type is bit_type:
            span = (address, address, point.bit, index)
        else:
            span = (address, address + point.register_count - 1, -1, index)
        spans.setdefault(point.area, []).append(span)  # type: ignore[arg-type]

    for area_spans in spans.values():
        area_spans.sort()
        # Bit points sharing a register: distinct bits, one writable flag.
        bit_owner: dict[tuple[int, int], int] = {}
        register_writer: dict[int, int] = {}
        tracker_end, tracker, tracker_bit = -1, -1, -1
        for address, end, bit, index in area_spans:
            if bit >= 0:
                first = bit_owner.setdefault((address, bit), index)
                if first != index:
                    errors.append(_overlap(points, index, first))
                first_writer = register_writer.setdefault(address, index)
                if points[first_writer].writable != points[index].writable:
                    errors.append(_writable_mismatch(points, index, first_writer))
            if address <= tracker_end and not (
                bit >= 0 and tracker_bit >= 0 and points[tracker].address == address
            ):
                errors.append(_overlap(points, index, tracker))
            if end > tracker_end:
                tracker_end, tracker, tracker_bit = end, index, bit
    errors.sort(key=lambda e: -1 if e.index is None else e.index)
    return errors


def _writable_mismatch(points: list[Point], index: int, other_index: int) -> FieldError:
    point, other = points[index], points[other_index]
    return FieldError(
        "writable",
        "bit points of one register must all be writable or all read-only; "
        f"{other.label} is {'writable' if other.writable else 'read-only'}",
        index,
        point.name,
        other_index,
    )


def _overlap(points: list[Point], index: int, other_index: int) -> FieldError:
    point, other = points[index], points[other_index]
    first = max(point.address, other.address)
    last = min(point.end_address, other.end_address)
    clash = str(first) if first == last else f"{first}..{last}"
    if point.data_type is DataType.BIT and other.data_type is DataType.BIT:
        clash += f" bit {point.bit}"
    return FieldError(
        "address",
        f"{point.label} overlaps {other.label} at {point.area} address {clash}",
        index,
        point.name,
        other_index,
    )
