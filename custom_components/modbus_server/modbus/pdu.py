"""Modbus PDUs: request and response encode/decode per function code, in pairs.

Decoders of *requests* validate in the order of the spec's per-function state
diagrams: quantity and byte count first (IllegalDataValue, 03), then whether
address + quantity stays inside 0..65535 (IllegalDataAddress, 02). Whether the
addresses are *mapped* is the data callback's business. Decoders of
*responses* are used by clients and tests; they raise ModbusProtocolError on
malformed input. Structs are compiled once; the per-request path does no
formatting.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from struct import Struct

from .exceptions import (
    IllegalDataAddress,
    IllegalDataValue,
    ModbusProtocolError,
    exception_for_code,
)


class FunctionCode(IntEnum):
    """Function codes this server implements."""

    READ_COILS = 0x01
    READ_DISCRETE_INPUTS = 0x02
    READ_HOLDING_REGISTERS = 0x03
    READ_INPUT_REGISTERS = 0x04
    WRITE_SINGLE_COIL = 0x05
    WRITE_SINGLE_REGISTER = 0x06
    DIAGNOSTICS = 0x08
    WRITE_MULTIPLE_COILS = 0x0F
    WRITE_MULTIPLE_REGISTERS = 0x10
    MASK_WRITE_REGISTER = 0x16
    READ_WRITE_MULTIPLE_REGISTERS = 0x17
    ENCAPSULATED_INTERFACE = 0x2B


MAX_READ_BITS = 2000
MAX_READ_REGISTERS = 125
MAX_WRITE_BITS = 1968
MAX_WRITE_REGISTERS = 123
MAX_RW_WRITE_REGISTERS = 121
ADDRESS_SPACE = 0x10000
COIL_ON = 0xFF00
COIL_OFF = 0x0000
DIAG_RETURN_QUERY_DATA = 0x0000

_U16 = Struct(">H")
_U16_U16 = Struct(">HH")
_U8_U16_U16 = Struct(">BHH")
_MASK_WRITE = Struct(">BHHH")
_WRITE_MULTIPLE_HEADER = Struct(">BHHB")
_RW_HEADER = Struct(">BHHHHB")
_FC_BYTECOUNT = Struct(">BB")
_EXCEPTION = Struct(">BB")
_DIAGNOSTICS = Struct(">BH")

# One compiled struct per register count: unpack/pack of a block is one C call.
_REGISTERS = [Struct(f">{n}H") for n in range(MAX_READ_REGISTERS + 1)]
# A whole FC 03/04 response (function code, byte count, registers) in one pack per count.
_REGISTERS_RESPONSE = [Struct(f">BB{n}H") for n in range(MAX_READ_REGISTERS + 1)]
# Bits travel LSB first; these tables turn bytes into ASCII digits (nonzero -> "1") and back.
_BITS_TO_ASCII = b"0" + b"1" * 255
_ASCII_TO_BITS = bytes.maketrans(b"01", b"\x00\x01")


def _check_span(address: int, count: int) -> None:
    if address + count > ADDRESS_SPACE:
        raise IllegalDataAddress(f"address {address} + quantity {count} exceeds 65535")


def pack_bits(bits: Sequence[int | bool]) -> bytes:
    """Pack bits LSB-first into bytes (any truthy value is 1).

    Fastest from bytes or a bytearray holding one byte per bit (libmodbus's `tab_bits`
    layout): no conversion at all, 2000 bits in about 3 us instead of 6 from a list.
    """
    if not bits:
        return b""
    if isinstance(bits, bytes | bytearray):
        raw = bits  # translate below maps every nonzero byte to "1"
    else:
        try:
            raw = bytes(bits)  # fast for bools and small ints
        except TypeError, ValueError:
            raw = bytes(map(bool, bits))
        if len(raw) != len(bits):  # a buffer of wider items (memoryview, array of "H")
            raw = bytes(map(bool, bits))
    digits = raw.translate(_BITS_TO_ASCII)
    return int(digits[::-1], 2).to_bytes((len(bits) + 7) // 8, "little")


def unpack_bits(data: bytes, count: int) -> list[bool]:
    """Unpack `count` LSB-first bits from bytes."""
    if count == 0:
        return []
    digits = format(int.from_bytes(data, "little"), f"0{len(data) * 8}b")[::-1]
    return list(map(bool, digits[:count].encode().translate(_ASCII_TO_BITS)))


def pack_registers(values: Sequence[int]) -> bytes:
    """Pack 16-bit registers big-endian (struct.error when a value is out of range)."""
    count = len(values)
    if count <= MAX_READ_REGISTERS:
        return _REGISTERS[count].pack(*values)
    return Struct(f">{count}H").pack(*values)


def unpack_registers(data: bytes | memoryview, offset: int, count: int) -> list[int]:
    """Unpack `count` big-endian registers starting at `offset`."""
    return list(_REGISTERS[count].unpack_from(data, offset))


# --- exception response -----------------------------------------------------------


def encode_exception_response(function_code: int, code: int) -> bytes:
    """Exception PDU: the request's function code with the high bit set, then the code."""
    return _EXCEPTION.pack((function_code | 0x80) & 0xFF, code)


def decode_exception_response(pdu: bytes) -> tuple[int, int]:
    """Return (function code of the request, exception code)."""
    if len(pdu) != 2 or not pdu[0] & 0x80:
        raise ModbusProtocolError("not an exception response")
    return pdu[0] & 0x7F, pdu[1]


def raise_for_exception(pdu: bytes) -> None:
    """Client side: raise the exception class of an exception response."""
    if pdu and pdu[0] & 0x80:
        _, code = decode_exception_response(pdu)
        try:
            raise exception_for_code(code)()
        except KeyError:
            raise ModbusProtocolError(f"unknown exception code {code:#04x}") from None


# --- FC 01/02/03/04: reads ----------------------------------------------------------


def encode_read_request(function_code: int, address: int, count: int) -> bytes:
    """Request of FC 01..04."""
    return _U8_U16_U16.pack(function_code, address, count)


def decode_read_request(pdu: bytes, max_count: int) -> tuple[int, int]:
    """Return (address, count) of a FC 01..04 request."""
    if len(pdu) != 5:
        raise IllegalDataValue("read request must be 5 bytes")
    _, address, count = _U8_U16_U16.unpack(pdu)
    if not 1 <= count <= max_count:
        raise IllegalDataValue(f"quantity {count} outside 1..{max_count}")
    if address + count > ADDRESS_SPACE:  # _check_span, inline: every read request's path
        raise IllegalDataAddress(f"address {address} + quantity {count} exceeds 65535")
    return address, count


def encode_read_bits_response(function_code: int, bits: Sequence[int | bool]) -> bytes:
    """Response of FC 01/02."""
    data = pack_bits(bits)
    return _FC_BYTECOUNT.pack(function_code, len(data)) + data


def decode_read_bits_response(pdu: bytes, count: int) -> list[bool]:
    """Client side of FC 01/02."""
    raise_for_exception(pdu)
    if len(pdu) < 2 or pdu[1] != len(pdu) - 2 or pdu[1] != (count + 7) // 8:
        raise ModbusProtocolError("bad byte count in bits response")
    return unpack_bits(pdu[2:], count)


def encode_read_registers_response(function_code: int, registers: Sequence[int]) -> bytes:
    """Response of FC 03/04 (and FC 23)."""
    count = len(registers)
    if count <= MAX_READ_REGISTERS:
        return _REGISTERS_RESPONSE[count].pack(function_code, 2 * count, *registers)
    return _FC_BYTECOUNT.pack(function_code, 2 * count) + pack_registers(registers)


def decode_read_registers_response(pdu: bytes) -> list[int]:
    """Client side of FC 03/04/23."""
    raise_for_exception(pdu)
    if len(pdu) < 2 or pdu[1] != len(pdu) - 2 or pdu[1] % 2:
        raise ModbusProtocolError("bad byte count in registers response")
    return unpack_registers(pdu, 2, pdu[1] // 2)


# --- FC 05/06: single writes (the response echoes the request) ----------------------


def encode_write_single_coil_request(address: int, value: bool) -> bytes:
    """Request (and response) of FC 05."""
    return _U8_U16_U16.pack(FunctionCode.WRITE_SINGLE_COIL, address, COIL_ON if value else COIL_OFF)


def decode_write_single_coil_request(pdu: bytes) -> tuple[int, bool]:
    """Return (address, value) of a FC 05 request; only 0xFF00 and 0x0000 are values."""
    if len(pdu) != 5:
        raise IllegalDataValue("write single coil request must be 5 bytes")
    _, address, value = _U8_U16_U16.unpack(pdu)
    if value not in (COIL_ON, COIL_OFF):
        raise IllegalDataValue(f"coil value {value:#06x} is neither 0xFF00 nor 0x0000")
    return address, value == COIL_ON


def encode_write_single_register_request(address: int, value: int) -> bytes:
    """Request (and response) of FC 06."""
    return _U8_U16_U16.pack(FunctionCode.WRITE_SINGLE_REGISTER, address, value)


def decode_write_single_register_request(pdu: bytes) -> tuple[int, int]:
    """Return (address, value) of a FC 06 request."""
    if len(pdu) != 5:
        raise IllegalDataValue("write single register request must be 5 bytes")
    _, address, value = _U8_U16_U16.unpack(pdu)
    return address, value


# --- FC 15/16: multiple writes -------------------------------------------------------


def encode_write_multiple_coils_request(address: int, values: Sequence[int | bool]) -> bytes:
    """Request of FC 15."""
    data = pack_bits(values)
    header = _WRITE_MULTIPLE_HEADER.pack(
        FunctionCode.WRITE_MULTIPLE_COILS, address, len(values), len(data)
    )
    return header + data


def decode_write_multiple_coils_request(pdu: bytes) -> tuple[int, list[bool]]:
    """Return (address, values) of a FC 15 request."""
    if len(pdu) < 6:
        raise IllegalDataValue("write multiple coils request too short")
    _, address, count, byte_count = _WRITE_MULTIPLE_HEADER.unpack_from(pdu)
    if not 1 <= count <= MAX_WRITE_BITS:
        raise IllegalDataValue(f"quantity {count} outside 1..{MAX_WRITE_BITS}")
    if byte_count != (count + 7) // 8 or len(pdu) != 6 + byte_count:
        raise IllegalDataValue("byte count does not match quantity")
    _check_span(address, count)
    return address, unpack_bits(pdu[6:], count)


def encode_write_multiple_registers_request(address: int, values: Sequence[int]) -> bytes:
    """Request of FC 16."""
    header = _WRITE_MULTIPLE_HEADER.pack(
        FunctionCode.WRITE_MULTIPLE_REGISTERS, address, len(values), 2 * len(values)
    )
    return header + pack_registers(values)


def decode_write_multiple_registers_request(pdu: bytes) -> tuple[int, list[int]]:
    """Return (address, values) of a FC 16 request."""
    if len(pdu) < 6:
        raise IllegalDataValue("write multiple registers request too short")
    _, address, count, byte_count = _WRITE_MULTIPLE_HEADER.unpack_from(pdu)
    if not 1 <= count <= MAX_WRITE_REGISTERS:
        raise IllegalDataValue(f"quantity {count} outside 1..{MAX_WRITE_REGISTERS}")
    if byte_count != 2 * count or len(pdu) != 6 + byte_count:
        raise IllegalDataValue("byte count does not match quantity")
    _check_span(address, count)
    return address, unpack_registers(pdu, 6, count)


def encode_write_multiple_response(function_code: int, address: int, count: int) -> bytes:
    """Response of FC 15/16: address and quantity written."""
    return _U8_U16_U16.pack(function_code, address, count)


def decode_write_multiple_response(pdu: bytes) -> tuple[int, int]:
    """Client side of FC 15/16: (address, quantity)."""
    raise_for_exception(pdu)
    if len(pdu) != 5:
        raise ModbusProtocolError("write multiple response must be 5 bytes")
    _, address, count = _U8_U16_U16.unpack(pdu)
    return address, count


# --- FC 22: mask write register -----------------------------------------------------


def encode_mask_write_request(address: int, and_mask: int, or_mask: int) -> bytes:
    """Request (and response) of FC 22."""
    return _MASK_WRITE.pack(FunctionCode.MASK_WRITE_REGISTER, address, and_mask, or_mask)


def decode_mask_write_request(pdu: bytes) -> tuple[int, int, int]:
    """Return (address, and_mask, or_mask) of a FC 22 request."""
    if len(pdu) != 7:
        raise IllegalDataValue("mask write request must be 7 bytes")
    _, address, and_mask, or_mask = _MASK_WRITE.unpack(pdu)
    return address, and_mask, or_mask


def apply_mask(current: int, and_mask: int, or_mask: int) -> int:
    """Result = (current AND and_mask) OR (or_mask AND NOT and_mask), per the spec."""
    return (current & and_mask) | (or_mask & ~and_mask & 0xFFFF)


# --- FC 23: read/write multiple registers -------------------------------------------


def encode_read_write_request(
    read_address: int, read_count: int, write_address: int, values: Sequence[int]
) -> bytes:
    """Request of FC 23."""
    header = _RW_HEADER.pack(
        FunctionCode.READ_WRITE_MULTIPLE_REGISTERS,
        read_address,
        read_count,
        write_address,
        len(values),
        2 * len(values),
    )
    return header + pack_registers(values)


def decode_read_write_request(pdu: bytes) -> tuple[int, int, int, list[int]]:
    """Return (read_address, read_count, write_address, values) of a FC 23 request."""
    if len(pdu) < 10:
        raise IllegalDataValue("read/write multiple request too short")
    _, read_address, read_count, write_address, write_count, byte_count = _RW_HEADER.unpack_from(
        pdu
    )
    if not 1 <= read_count <= MAX_READ_REGISTERS:
        raise IllegalDataValue(f"read quantity {read_count} outside 1..{MAX_READ_REGISTERS}")
    if not 1 <= write_count <= MAX_RW_WRITE_REGISTERS:
        raise IllegalDataValue(f"write quantity {write_count} outside 1..{MAX_RW_WRITE_REGISTERS}")
    if byte_count != 2 * write_count or len(pdu) != 10 + byte_count:
        raise IllegalDataValue("byte count does not match write quantity")
    _check_span(read_address, read_count)
    _check_span(write_address, write_count)
    return read_address, read_count, write_address, unpack_registers(pdu, 10, write_count)


# --- FC 08: diagnostics, sub-function 00 only ----------------------------------------


def encode_diagnostics_request(sub_function: int, data: bytes) -> bytes:
    """Request (and, for 00, response) of FC 08."""
    return _DIAGNOSTICS.pack(FunctionCode.DIAGNOSTICS, sub_function) + data


def decode_diagnostics_request(pdu: bytes) -> tuple[int, bytes]:
    """Return (sub_function, data) of a FC 08 request."""
    if len(pdu) < 3:
        raise IllegalDataValue("diagnostics request too short")
    return _U16.unpack_from(pdu, 1)[0], pdu[3:]


# --- FC 43 / MEI 14: read device identification --------------------------------------

MEI_READ_DEVICE_ID = 0x0E
_DEVICE_ID_REQUEST = Struct(">BBBB")
_DEVICE_ID_RESPONSE_HEADER = Struct(">BBBBBBB")


def encode_device_id_request(read_code: int, object_id: int) -> bytes:
    """Request of FC 43/14."""
    return _DEVICE_ID_REQUEST.pack(
        FunctionCode.ENCAPSULATED_INTERFACE, MEI_READ_DEVICE_ID, read_code, object_id
    )


def decode_device_id_request(pdu: bytes) -> tuple[int, int, int]:
    """Return (mei_type, read_code, object_id); the MEI type is checked by the caller."""
    if len(pdu) < 2:
        raise IllegalDataValue("encapsulated interface request too short")
    if pdu[1] != MEI_READ_DEVICE_ID:
        return pdu[1], 0, 0
    if len(pdu) != 4:
        raise IllegalDataValue("read device identification request must be 4 bytes")
    _, mei_type, read_code, object_id = _DEVICE_ID_REQUEST.unpack(pdu)
    return mei_type, read_code, object_id


def encode_device_id_response(
    read_code: int,
    conformity: int,
    next_object_id: int | None,
    objects: Sequence[tuple[int, bytes]],
) -> bytes:
    """Response of FC 43/14; `next_object_id` None means nothing more follows."""
    header = _DEVICE_ID_RESPONSE_HEADER.pack(
        FunctionCode.ENCAPSULATED_INTERFACE,
        MEI_READ_DEVICE_ID,
        read_code,
        conformity,
        0x00 if next_object_id is None else 0xFF,
        next_object_id or 0,
        len(objects),
    )
    return header + b"".join(bytes((oid, len(value))) + value for oid, value in objects)


def decode_device_id_response(
    pdu: bytes,
) -> tuple[int, int, int | None, list[tuple[int, bytes]]]:
    """Client side of FC 43/14: (read_code, conformity, next_object_id, objects)."""
    raise_for_exception(pdu)
    if len(pdu) < 7 or pdu[1] != MEI_READ_DEVICE_ID:
        raise ModbusProtocolError("bad read device identification response")
    _, _, read_code, conformity, more, next_id, count = _DEVICE_ID_RESPONSE_HEADER.unpack_from(pdu)
    objects: list[tuple[int, bytes]] = []
    pos = 7
    for _ in range(count):
        if pos + 2 > len(pdu):
            raise ModbusProtocolError("truncated device identification object")
        oid, length = pdu[pos], pdu[pos + 1]
        value = pdu[pos + 2 : pos + 2 + length]
        if len(value) != length:
            raise ModbusProtocolError("truncated device identification object")
        objects.append((oid, value))
        pos += 2 + length
    if pos != len(pdu):
        raise ModbusProtocolError("trailing bytes after device identification objects")
    return read_code, conformity, next_id if more == 0xFF else None, objects
