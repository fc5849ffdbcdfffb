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
import struct
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from .datatypes import (
    ByteOrder,
    DataType,
    DecodingError,
    EncodingError,
    RawCodec,
    Registers,
    WordOrder,
    integer_range,
    raw_codec,
)

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


def _integer_divisor(scale: float) -> int | None:
    """The whole number 1/scale when there is one (0.1 -> 10), else None."""
    if scale == 0 or not math.isfinite(scale):
        return None
    inverse = 1.0 / scale
    whole = round(inverse)
    if whole != 0 and abs(inverse - whole) <= 1e-9 * abs(inverse) and abs(whole) > 1:
        return whole
    return None


_ONE: Final = (1,)
_ZERO: Final = (0,)


def _encode_bit(value: object) -> Registers:
    if value is True:
        return _ONE
    if value is False:
        return _ZERO
    return _ONE if as_bool(value) else _ZERO


def _decode_bit(registers: Registers) -> bool:
    return bool(registers[0])


class ValueCodec:
    """Engineering value <-> registers for one point (all parameters compiled in).

    `encode` and `decode` are closures specialised at build time for the type, the layout
    and whether scaling applies, because they run once per point per Modbus request.
    """

    __slots__ = (
        "data_type",
        "decode",
        "default_unavailable",
        "divisor",
        "encode",
        "offset",
        "raw",
        "register_count",
        "scale",
    )

    encode: Callable[[object], Registers]
    """Engineering value -> registers; EncodingError when it does not fit."""
    decode: Callable[[Registers], bool | int | float | str]
    """Registers -> engineering value; DecodingError when they form no valid value.

    Unscaled integers decode to int, scaled ones and floats to float (NaN/inf are returned
    as such; rejecting them on writes is the caller's policy), bits to bool, strings to str.
    """

    def __init__(
        self,
        data_type: DataType,
        raw: RawCodec | None,
        scale: float = 1.0,
        offset: float = 0.0,
    ) -> None:
        """Use `build` (validates the parameters and caches)."""
        self.data_type = data_type
        self.raw = raw
        self.register_count = 1 if raw is None else raw.register_count
        self.scale = float(scale)
        self.offset = float(offset)
        self.divisor = _integer_divisor(scale)
        self.default_unavailable = None if raw is None else raw.unavailable_registers
        if raw is None:
            self.encode, self.decode = _encode_bit, _decode_bit
        elif data_type is DataType.STRING:
            self.encode, self.decode = self._string_codec(raw)
        elif data_type.is_float:
            self.encode, self.decode = self._float_codec(raw)
        else:
            self.encode, self.decode = self._integer_codec(raw)

    def __repr__(self) -> str:
        return (
            f"ValueCodec({self.data_type}, {self.register_count} registers, "
            f"scale={self.scale}, offset={self.offset})"
        )

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
        """Return the (cached) codec; ValueError for parameters no point may have."""
        parameters: dict[str, Any] = {
            "scale": scale,
            "offset": offset,
            "word_order": word_order,
            "byte_order": byte_order,
            "length": length,
        }
        try:
            return _cached_codec(data_type, **parameters)
        except TypeError:  # unhashable parameters: let the checks below explain
            return _new_codec(data_type, **parameters)

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

    def unavailable_registers(self, unavailable_value: object) -> Registers | None:
        """What a read returns for an unavailable source, None when it must fail (04).

        `unavailable_value` (an engineering value) wins when set; otherwise the per-type
        default: NaN for floats, all ones for unsigned, the minimum for signed integers,
        all NUL (empty text) for strings, and no default (read fails) for bool/bit.
        """
        if unavailable_value is not None:
            return self.encode(unavailable_value)
        return self.default_unavailable

    # -- specialised closures ----------------------------------------------------------

    def _string_codec(
        self, raw: RawCodec
    ) -> tuple[Callable[[object], Registers], Callable[[Registers], str]]:
        encode_bytes, decode_bytes = raw.encode_bytes, raw.decode_bytes

        def encode(value: object) -> Registers:
            text = value if isinstance(value, str) else str(value)
            if "\0" in text:
                raise EncodingError("text must not contain NUL characters")
            return encode_bytes(text.encode("utf-8"))

        def decode(registers: Registers) -> str:
            data = decode_bytes(registers).split(b"\0", 1)[0]
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DecodingError(f"registers are not valid UTF-8 text: {err}") from err

        return encode, decode

    def _float_codec(
        self, raw: RawCodec
    ) -> tuple[Callable[[object], Registers], Callable[[Registers], float]]:
        data_type, pack, unpack = self.data_type, raw.pack_value, raw.unpack_registers
        from_raw, raw_decode = self.from_raw, raw.decode
        scaled = self.scaled

        offset, divisor, scale = self.offset, self.divisor, self.scale

        def encode(value: object) -> Registers:
            kind = type(value)
            number: int | float = (
                value  # type: ignore[assignment]
                if kind is float or kind is int
                else as_number(value)
            )
            try:
                if scaled:
                    number = (number - offset) * divisor if divisor else (number - offset) / scale
                return unpack(pack(number))
            except (OverflowError, struct.error) as err:
                raise EncodingError(f"{value!r} does not fit {data_type}") from err

        def decode(registers: Registers) -> float:
            number = raw_decode(registers)
            return from_raw(number) if scaled else number

        return encode, decode

    def _integer_codec(
        self, raw: RawCodec
    ) -> tuple[Callable[[object], Registers], Callable[[Registers], int | float]]:
        data_type, pack, unpack = self.data_type, raw.pack_value, raw.unpack_registers
        from_raw, raw_decode = self.from_raw, raw.decode
        low, high = integer_range(data_type)
        scaled = self.scaled

        offset, divisor, scale = self.offset, self.divisor, self.scale
        single = raw.register_count == 1
        swap = raw.byte_order is ByteOrder.LITTLE

        def encode(value: object) -> Registers:
            kind = type(value)
            number: int | float = (
                value  # type: ignore[assignment]
                if kind is float or kind is int
                else as_number(value)
            )
            if scaled or type(number) is not int:
                try:
                    if scaled:
                        number = (
                            (number - offset) * divisor if divisor else (number - offset) / scale
                        )
                    # round(): half to even; NaN raises ValueError, inf OverflowError
                    number = round(number)
                except (ValueError, OverflowError) as err:
                    raise EncodingError(f"{value!r} cannot be encoded as {data_type}") from err
            if low <= number <= high:
                if single:  # 16-bit: two's complement by masking, no struct round trip
                    word = number & 0xFFFF
                    return (((word & 0xFF) << 8) | (word >> 8),) if swap else (word,)
                return unpack(pack(number))
            raise EncodingError(f"{value!r} does not fit {data_type} ({low}..{high})")

        def decode(registers: Registers) -> int | float:
            number = raw_decode(registers)
            return from_raw(number) if scaled else number

        return encode, decode


def _new_codec(
    data_type: DataType,
    *,
    scale: float,
    offset: float,
    word_order: WordOrder,
    byte_order: ByteOrder,
    length: int | None,
) -> ValueCodec:
    if data_type.is_bit:
        return ValueCodec(data_type, None)
    if data_type.is_numeric and (scale == 0 or not math.isfinite(scale)):
        raise ValueError("scale must be a finite, non-zero number")
    if data_type.is_numeric and not math.isfinite(offset):
        raise ValueError("offset must be a finite number")
    raw = raw_codec(data_type, word_order, byte_order, length)
    if not data_type.is_numeric:
        return ValueCodec(data_type, raw)
    return ValueCodec(data_type, raw, scale, offset)


_cached_codec = lru_cache(maxsize=4096, typed=True)(_new_codec)
