"""Engineering value <-> registers for one point: coercion, scaling, rounding, raw codec.

`ValueCodec` is compiled once per point when a map is built, so the per-request work is a
few arithmetic operations and two `struct` calls. Rules, all documented in the README:

* engineering = raw * scale + offset, so raw = (engineering - offset) / scale. When 1/scale
  is a whole number (0.1, 0.01, 0.5 ...) the codec multiplies/divides by that integer
  instead, which keeps 21.35 / 0.1 from becoming 213.49999999999997.
* integer types round the scaled value to the nearest integer, ties to even (IEEE 754
  default, Python's `round`, IEC 61131 ROUND on most PLCs); NaN and infinities cannot be
  encoded into an integer and raise `EncodingError`, as does any value outside the range.
* unscaled integers keep full 64-bit precision (ints are never routed through float).
* strings are UTF-8 (ASCII is a subset), NUL padded; decoding stops at the first NUL.
* bool/bit accept bool, 0/1, and the texts on/off, true/false, 1/0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .datatypes import (
    ByteOrder,
    DataType,
    DecodingError,
    EncodingError,
    RawCodec,
    Registers,
    WordOrder,
    raw_codec,
)

if TYPE_CHECKING:
    from .points import Point

_TRUE_TEXTS: Final = frozenset({"1", "on", "true", "yes"})
_FALSE_TEXTS: Final = frozenset({"0", "off", "false", "no"})


def as_bool(value: object) -> bool:
    """Coerce a provider value to a bit; EncodingError for anything but a clear 0/1."""
    if value is True or value is False:
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_TEXTS:
            return True
        if text in _FALSE_TEXTS:
            return False
    raise EncodingError(f"{value!r} is not a bit value (use true/false, on/off or 1/0)")


def as_number(value: object) -> int | float:
    """Coerce a provider value to int or float (numeric text is parsed); else EncodingError."""
    kind = type(value)
    if kind is float or kind is int:
        return value  # type: ignore[return-value]
    if kind is bool:
        return 1 if value else 0
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            pass
    else:
        try:
            return float(value)  # type: ignore[arg-type]  # Decimal, Fraction, numpy ...
        except TypeError, ValueError:
            pass
    raise EncodingError(f"{value!r} is not a number")


def _round_to_int(value: float, data_type: DataType) -> int:
    """Round half to even; NaN/inf have no integer encoding."""
    if not math.isfinite(value):
        raise EncodingError(f"{value!r} cannot be encoded as {data_type}")
    return round(value)


def _integer_divisor(scale: float) -> int | None:
    """The whole number 1/scale when there is one (0.1 -> 10), else None."""
    if scale == 0 or not math.isfinite(scale):
        return None
    inverse = 1.0 / scale
    whole = round(inverse)
    if whole != 0 and abs(inverse - whole) <= 1e-9 * abs(inverse) and abs(whole) > 1:
        return whole
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueCodec:
    """Engineering value <-> registers for one point (all parameters compiled in)."""

    data_type: DataType
    register_count: int
    scale: float = 1.0
    offset: float = 0.0
    raw: RawCodec | None = None
    divisor: int | None = None

    @classmethod
    def build(
        cls,
        data_type: DataType,
        *,
        scale: float = 1.0,
        offset: float = 0.0,
        word_order: WordOrder = WordOrder.BIG,
        byte_order: ByteOrder = ByteOrder.BIG,
        length: int | None = None,
    ) -> ValueCodec:
        """Compile a codec; ValueError for parameters no point may have."""
        if data_type.is_bit:
            return cls(data_type=data_type, register_count=1)
        if data_type.is_numeric and (scale == 0 or not math.isfinite(scale)):
            raise ValueError("scale must be a finite, non-zero number")
        if data_type.is_numeric and not math.isfinite(offset):
            raise ValueError("offset must be a finite number")
        raw = raw_codec(data_type, word_order, byte_order, length)
        return cls(
            data_type=data_type,
            register_count=raw.register_count,
            scale=float(scale),
            offset=float(offset),
            raw=raw,
            divisor=_integer_divisor(scale),
        )

    @classmethod
    def for_point(cls, point: Point) -> ValueCodec:
        """Compile the codec of a point (the point must have passed validation)."""
        return cls.build(
            point.data_type,
            scale=point.scale,
            offset=point.offset,
            word_order=point.word_order,
            byte_order=point.byte_order,
            length=point.length,
        )

    @property
    def scaled(self) -> bool:
        """True when scale/offset change the value (otherwise raw == engineering)."""
        return self.scale != 1.0 or self.offset != 0.0

    def to_raw(self, value: float) -> float:
        """Engineering -> raw (before rounding): (value - offset) / scale."""
        if self.divisor is not None:
            return (value - self.offset) * self.divisor
        return (value - self.offset) / self.scale

    def from_raw(self, raw: float) -> float:
        """Raw -> engineering: raw * scale + offset."""
        if self.divisor is not None:
            return raw / self.divisor + self.offset
        return raw * self.scale + self.offset

    def encode(self, value: object) -> Registers:
        """Engineering value -> registers; EncodingError when it does not fit."""
        raw = self.raw
        data_type = self.data_type
        if raw is None:
            return (1,) if as_bool(value) else (0,)
        if data_type is DataType.STRING:
            text = value if isinstance(value, str) else str(value)
            if "\0" in text:
                raise EncodingError("text must not contain NUL characters")
            return raw.encode_bytes(text.encode("utf-8"))
        number = as_number(value)
        if data_type.is_float:
            try:
                raw_float = self.to_raw(number) if self.scaled else float(number)
            except OverflowError as err:
                raise EncodingError(f"{value!r} does not fit {data_type}") from err
            return raw.encode_float(raw_float)
        if not self.scaled and type(number) is int:
            return raw.encode_int(number)
        try:
            scaled = self.to_raw(number) if self.scaled else number
        except OverflowError as err:
            raise EncodingError(f"{value!r} does not fit {data_type}") from err
        return raw.encode_int(_round_to_int(scaled, data_type))

    def decode(self, registers: Registers) -> bool | int | float | str:
        """Registers -> engineering value; DecodingError when they form no valid value.

        Unscaled integers decode to int, scaled ones and floats to float (NaN/inf are
        returned as such; rejecting them on writes is the caller's policy).
        """
        raw = self.raw
        if raw is None:
            return bool(registers[0])
        if self.data_type is DataType.STRING:
            data = raw.decode_bytes(registers).split(b"\0", 1)[0]
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DecodingError(f"registers are not valid UTF-8 text: {err}") from err
        number = raw.decode(registers)
        if not self.scaled:
            return number
        return self.from_raw(number)

    def unavailable_registers(self, unavailable_value: object) -> Registers | None:
        """What a read returns for an unavailable source, None when it must fail (04).

        `unavailable_value` (an engineering value) wins when set; otherwise the per-type
        default: NaN for floats, all ones for unsigned, the minimum for signed integers,
        all NUL (empty text) for strings, and no default (read fails) for bool/bit.
        """
        if unavailable_value is not None:
            return self.encode(unavailable_value)
        if self.raw is None:
            return None
        return self.raw.unavailable_registers
