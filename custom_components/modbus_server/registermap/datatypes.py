"""Data types and their raw register codecs, encode and decode side by side.

This module knows how a *raw* value (the number or text that travels on the wire, before
scaling) becomes 16-bit registers and back, for every data type and each of the four
usual word/byte layouts. Scaling and value coercion live in `codec.py`; this layer only
guarantees that a raw value either fits its type exactly or raises `EncodingError`:
nothing ever wraps silently.

The byte layout trick: a value packed with the *word order's* endianness and then read as
registers with *big* endianness when word and byte order agree (ABCD, DCBA) or *little*
endianness when they differ (CDAB, BADC) yields exactly the four layouts. Each codec is
therefore two precompiled `struct.Struct` objects and no per-value Python loops.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final


class DataType(StrEnum):
    """The type of a point's value; the value is the stable name used in config and CSV."""

    BOOL = "bool"
    BIT = "bit"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"

    @property
    def fixed_register_count(self) -> int | None:
        """Registers (or bits) one value occupies; None for strings (their `length`)."""
        return _REGISTER_COUNTS[self]

    @property
    def is_numeric(self) -> bool:
        """Integer and float types: the ones that take scale and offset."""
        return self in _STRUCT_CODES

    @property
    def is_integer(self) -> bool:
        """Integer types: scaled values are rounded to fit them."""
        return self in _INTEGER_RANGES

    @property
    def is_float(self) -> bool:
        """IEEE 754 types."""
        return self in (DataType.FLOAT32, DataType.FLOAT64)

    @property
    def is_bit(self) -> bool:
        """Single-bit types: BOOL (coil/discrete input) and BIT (one bit of a register)."""
        return self in (DataType.BOOL, DataType.BIT)


class WordOrder(StrEnum):
    """Order of the 16-bit registers of a multi-register value; big = most significant first."""

    BIG = "big"
    LITTLE = "little"


class ByteOrder(StrEnum):
    """Order of the two bytes inside each 16-bit register; big = high byte first (Modbus norm)."""

    BIG = "big"
    LITTLE = "little"


_REGISTER_COUNTS: Final[dict[DataType, int | None]] = {
    DataType.BOOL: 1,
    DataType.BIT: 1,
    DataType.INT16: 1,
    DataType.UINT16: 1,
    DataType.INT32: 2,
    DataType.UINT32: 2,
    DataType.INT64: 4,
    DataType.UINT64: 4,
    DataType.FLOAT32: 2,
    DataType.FLOAT64: 4,
    DataType.STRING: None,
}

_STRUCT_CODES: Final[dict[DataType, str]] = {
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.INT64: "q",
    DataType.UINT64: "Q",
    DataType.FLOAT32: "f",
    DataType.FLOAT64: "d",
}

_INTEGER_RANGES: Final[dict[DataType, tuple[int, int]]] = {
    DataType.INT16: (-(1 << 15), (1 << 15) - 1),
    DataType.UINT16: (0, (1 << 16) - 1),
    DataType.INT32: (-(1 << 31), (1 << 31) - 1),
    DataType.UINT32: (0, (1 << 32) - 1),
    DataType.INT64: (-(1 << 63), (1 << 63) - 1),
    DataType.UINT64: (0, (1 << 64) - 1),
}

MAX_STRING_REGISTERS: Final = 125
"""Longest string point: what one read (FC3/FC4) can return."""

# The four layouts by their conventional names (A = most significant byte of the value).
LAYOUTS: Final[dict[str, tuple[WordOrder, ByteOrder]]] = {
    "ABCD": (WordOrder.BIG, ByteOrder.BIG),
    "CDAB": (WordOrder.LITTLE, ByteOrder.BIG),
    "BADC": (WordOrder.BIG, ByteOrder.LITTLE),
    "DCBA": (WordOrder.LITTLE, ByteOrder.LITTLE),
}
_LAYOUT_NAMES: Final[dict[tuple[WordOrder, ByteOrder], str]] = {v: k for k, v in LAYOUTS.items()}


def layout_name(word_order: WordOrder, byte_order: ByteOrder) -> str:
    """Return the 4-letter name (ABCD, CDAB, BADC, DCBA) of a word/byte order pair."""
    return _LAYOUT_NAMES[(word_order, byte_order)]


def orders_from_layout(name: str) -> tuple[WordOrder, ByteOrder]:
    """Parse a 4-letter layout name (case-insensitive); ValueError names the valid ones."""
    try:
        return LAYOUTS[name.strip().upper()]
    except KeyError:
        raise ValueError(
            f"unknown word/byte order {name!r}; use one of {', '.join(LAYOUTS)}"
        ) from None


def integer_range(data_type: DataType) -> tuple[int, int]:
    """Smallest and largest raw value of an integer type."""
    return _INTEGER_RANGES[data_type]


class EncodingError(ValueError):
    """A value does not fit its data type (out of range, NaN into an integer, too long...)."""


class DecodingError(ValueError):
    """Registers do not form a valid value of the data type (e.g. invalid UTF-8)."""


class _Unavailable:
    """Type of the UNAVAILABLE sentinel (a singleton)."""

    _instance: _Unavailable | None = None

    def __new__(cls) -> _Unavailable:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNAVAILABLE"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNAVAILABLE"


UNAVAILABLE: Final = _Unavailable()
"""What a provider returns when the source has no usable value (entity unavailable/unknown)."""

type Registers = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RawCodec:
    """Raw value <-> registers for one numeric or string type in one layout.

    `encode` takes the raw value (an int for integer types, a float for float types, bytes
    for strings) and `decode` returns it. Both are exact: range checks happen before packing.
    """

    data_type: DataType
    word_order: WordOrder
    byte_order: ByteOrder
    register_count: int
    _value: struct.Struct
    _registers: struct.Struct
    _low: int
    _high: int

    def encode_int(self, raw: int) -> Registers:
        """Encode an integer raw value; EncodingError when it is outside the type's range."""
        if not self._low <= raw <= self._high:
            raise EncodingError(f"{raw} does not fit {self.data_type} ({self._low}..{self._high})")
        return self._registers.unpack(self._value.pack(raw))

    def encode_float(self, raw: float) -> Registers:
        """Encode a float raw value; EncodingError when it overflows the float type."""
        try:
            packed = self._value.pack(raw)
        except (OverflowError, struct.error) as err:
            raise EncodingError(f"{raw!r} does not fit {self.data_type}") from err
        return self._registers.unpack(packed)

    def decode(self, registers: Registers) -> int | float:
        """Registers (exactly `register_count` of them) -> raw int or float."""
        value: int | float = self._value.unpack(self._registers.pack(*registers))[0]
        return value

    def encode_bytes(self, raw: bytes) -> Registers:
        """Encode text bytes into a string point's registers, NUL padded."""
        size = 2 * self.register_count
        if len(raw) > size:
            raise EncodingError(
                f"text of {len(raw)} bytes does not fit {self.register_count} registers "
                f"({size} bytes)"
            )
        return self._registers.unpack(raw.ljust(size, b"\0"))

    def decode_bytes(self, registers: Registers) -> bytes:
        """Registers -> the raw bytes of a string point (padding not yet removed)."""
        return self._registers.pack(*registers)

    @property
    def pack_value(self) -> Callable[[int | float], bytes]:
        """The value struct's pack (for codecs that add their own range checks)."""
        return self._value.pack

    @property
    def unpack_registers(self) -> Callable[[bytes], Registers]:
        """The register struct's unpack."""
        return self._registers.unpack

    @property
    def unavailable_registers(self) -> Registers:
        """Default 'no value' pattern: NaN, all ones (unsigned), minimum (signed), all NUL."""
        if self.data_type is DataType.STRING:
            return (0,) * self.register_count
        if self.data_type.is_float:
            return self.encode_float(math.nan)
        low, high = self._low, self._high
        return self.encode_int(low if low < 0 else high)


@cache
def raw_codec(
    data_type: DataType,
    word_order: WordOrder = WordOrder.BIG,
    byte_order: ByteOrder = ByteOrder.BIG,
    length: int | None = None,
) -> RawCodec:
    """Return the (cached) codec for a numeric or string type in one layout.

    For strings `length` is the register count; characters stay in register sequence (word
    order must be big) and byte order says which character of a pair comes first.
    """
    if data_type is DataType.STRING:
        if length is None or not 1 <= length <= MAX_STRING_REGISTERS:
            raise ValueError(f"string length must be 1..{MAX_STRING_REGISTERS} registers")
        if word_order is not WordOrder.BIG:
            raise ValueError("word order does not apply to strings; use big (ABCD or BADC)")
        endian = ">" if byte_order is ByteOrder.BIG else "<"
        fmt = f"{2 * length}s"
        return RawCodec(
            data_type,
            word_order,
            byte_order,
            length,
            struct.Struct(fmt),
            struct.Struct(f"{endian}{length}H"),
            0,
            0,
        )
    code = _STRUCT_CODES.get(data_type)
    if code is None:
        raise ValueError(f"{data_type} has no register codec")
    count = _REGISTER_COUNTS[data_type]
    assert count is not None
    value_endian = ">" if word_order is WordOrder.BIG else "<"
    register_endian = ">" if (word_order.value == byte_order.value) else "<"
    low, high = _INTEGER_RANGES.get(data_type, (0, 0))
    return RawCodec(
        data_type,
        word_order,
        byte_order,
        count,
        struct.Struct(value_endian + code),
        struct.Struct(f"{register_endian}{count}H"),
        low,
        high,
    )
