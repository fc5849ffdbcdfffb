"""The Point model and its validation, with one message per field that a UI can show.

A `Point` is plain data (frozen, hashable): no behaviour beyond derived properties, so the
Home Assistant layer can build, store and compare points freely. `validate_point` checks
one point in isolation; `validate_points` adds what only the whole map can show (overlaps,
bit points sharing a register). `RegisterMap` runs both before compiling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

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
    errors: list[FieldError] = []

    def error(field: str, message: str) -> None:
        errors.append(FieldError(field, message, name=point.name))

    # Fields are typed, but points may come from untyped sources (config, JSON): check.
    raw: dict[str, object] = {
        "area": point.area,
        "data_type": point.data_type,
        "word_order": point.word_order,
        "byte_order": point.byte_order,
        "name": point.name,
        "writable": point.writable,
    }
    area, data_type = point.area, point.data_type
    area_ok = isinstance(raw["area"], Area)
    type_ok = isinstance(raw["data_type"], DataType)
    if not area_ok:
        error("area", f"unknown area {area!r}; use one of {', '.join(Area)}")
    if not type_ok:
        error("data_type", f"unknown data type {data_type!r}; use one of {', '.join(DataType)}")
    if not isinstance(raw["word_order"], WordOrder):
        error("word_order", f"unknown word order {point.word_order!r}; use big or little")
    if not isinstance(raw["byte_order"], ByteOrder):
        error("byte_order", f"unknown byte order {point.byte_order!r}; use big or little")
    if not isinstance(raw["name"], str):
        error("name", "must be text")

    address_ok = _is_int(point.address) and 0 <= point.address <= MAX_ADDRESS
    if not address_ok:
        error("address", f"must be a whole number from 0 to {MAX_ADDRESS}")

    if area_ok and type_ok:
        if area.is_bit and data_type is not DataType.BOOL:
            error("data_type", f"a {area} holds single bits; use bool")
        elif not area.is_bit and data_type is DataType.BOOL:
            error(
                "data_type",
                f"a {area} holds 16-bit registers; use bit (one bit of a register) or a "
                "number type instead of bool",
            )
    if area_ok and point.writable and not area.is_writable:
        error(
            "writable",
            f"a {area} is read-only for Modbus clients; only coils and "
            "holding registers can be writable",
        )
    if not isinstance(raw["writable"], bool):
        error("writable", "must be true or false")

    if not type_ok:
        return errors

    # bit / length apply to one type each
    if data_type is DataType.BIT:
        if not _is_int(point.bit) or not 0 <= point.bit <= 15:  # type: ignore[operator]
            error("bit", "bit points need a bit number from 0 (least significant) to 15")
    elif point.bit is not None:
        error("bit", "only bit points have a bit number")
    if data_type is DataType.STRING:
        if not _is_int(point.length) or not 1 <= point.length <= MAX_STRING_REGISTERS:  # type: ignore[operator]
            error(
                "length",
                f"strings need a length of 1 to {MAX_STRING_REGISTERS} registers "
                "(2 characters each)",
            )
    elif point.length is not None:
        error("length", "only strings have a length; the type fixes the register count")

    if address_ok and point.register_count and point.end_address > MAX_ADDRESS:
        error(
            "address",
            f"{data_type} needs {point.register_count} registers: {point.address} + "
            f"{point.register_count} runs past {MAX_ADDRESS}",
        )

    # scale/offset only change numbers
    scale_ok = _is_real(point.scale) and math.isfinite(point.scale)
    offset_ok = _is_real(point.offset) and math.isfinite(point.offset)
    if data_type.is_numeric:
        if not scale_ok:
            error("scale", "must be a finite number")
        elif point.scale == 0:
            error("scale", "must not be 0 (engineering = raw x scale + offset)")
        if not offset_ok:
            error("offset", "must be a finite number")
    else:
        if point.scale != 1:
            error("scale", f"{data_type} values are not scaled; leave scale at 1")
        if point.offset != 0:
            error("offset", f"{data_type} values are not scaled; leave offset at 0")

    if data_type.is_bit and (
        point.word_order is not WordOrder.BIG or point.byte_order is not ByteOrder.BIG
    ):
        error("word_order", f"word/byte order does not apply to {data_type}; leave it ABCD")
    if data_type is DataType.STRING and point.word_order is not WordOrder.BIG:
        error(
            "word_order",
            "word order does not apply to strings (characters stay in register "
            "sequence); use ABCD or BADC",
        )

    if errors:
        return errors
    try:
        codec = ValueCodec.for_point(point)
    except ValueError as err:  # pragma: no cover - the checks above should catch all
        error("data_type", str(err))
        return errors
    if point.unavailable_value is not None:
        value = point.unavailable_value
        if data_type is DataType.STRING and not isinstance(value, str):
            error("unavailable_value", "must be text for a string point")
        elif data_type is not DataType.STRING and isinstance(value, str):
            error("unavailable_value", f"must be a number for a {data_type} point")
        else:
            try:
                codec.encode(value)
            except EncodingError as err:
                error("unavailable_value", str(err))
    return errors


def validate_points(points: Iterable[Point]) -> list[FieldError]:
    """Validate every point, then overlaps and shared bit registers across the map.

    Errors carry the point's index in `points`. Overlap messages name both points and the
    clashing addresses; bit points of one register overlap only when they use the same bit.
    """
    points = list(points)
    errors: list[FieldError] = []
    valid: list[int] = []
    for index, point in enumerate(points):
        point_errors = validate_point(point)
        for err in point_errors:
            errors.append(FieldError(err.field, err.message, index, err.name))
        if not point_errors:
            valid.append(index)

    by_area: dict[Area, list[int]] = {}
    for index in valid:
        by_area.setdefault(points[index].area, []).append(index)

    for indices in by_area.values():
        indices.sort(key=lambda i: (points[i].address, points[i].end_address, points[i].bit or 0))
        # Bit points sharing a register: distinct bits, one writable flag.
        bit_owner: dict[tuple[int, int], int] = {}
        register_writer: dict[int, int] = {}
        tracker: int | None = None
        for index in indices:
            point = points[index]
            if point.data_type is DataType.BIT:
                assert point.bit is not None
                first = bit_owner.setdefault((point.address, point.bit), index)
                if first != index:
                    errors.append(_overlap(points, index, first))
                first_writer = register_writer.setdefault(point.address, index)
                if points[first_writer].writable != point.writable:
                    other = points[first_writer]
                    errors.append(
                        FieldError(
                            "writable",
                            "bit points of one register must all be writable or all "
                            f"read-only; {other.label} is "
                            f"{'writable' if other.writable else 'read-only'}",
                            index,
                            point.name,
                            first_writer,
                        )
                    )
            if tracker is not None:
                other = points[tracker]
                both_bits = (
                    point.data_type is DataType.BIT
                    and other.data_type is DataType.BIT
                    and other.address == point.address
                )
                if point.address <= other.end_address and not both_bits:
                    errors.append(_overlap(points, index, tracker))
            if tracker is None or point.end_address > points[tracker].end_address:
                tracker = index
    errors.sort(key=lambda e: -1 if e.index is None else e.index)
    return errors


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
