"""Encode/decode pairs of every function code, and request validation order."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given, strategies as st

from custom_components.modbus_server.modbus import (
    IllegalDataAddress,
    IllegalDataValue,
    ModbusProtocolError,
    ServerDeviceFailure,
    pdu as P,
)

addresses = st.integers(0, 0xFFFF)
registers = st.integers(0, 0xFFFF)


@given(st.lists(st.booleans(), min_size=0, max_size=2000))
def test_bits_round_trip(bits: list[bool]) -> None:
    packed = P.pack_bits(bits)
    assert len(packed) == (len(bits) + 7) // 8
    assert P.unpack_bits(packed, len(bits)) == bits


def test_bits_are_lsb_first() -> None:
    # Spec example: coils 20..38 = CD 6B 05
    bits = [True, False, True, True, False, False, True, True]
    bits += [True, True, False, True, False, True, True, False]
    bits += [True, False, True]
    assert P.pack_bits(bits) == bytes.fromhex("CD6B05")


@given(st.lists(st.integers(0, 255), min_size=0, max_size=2000))
def test_bits_from_one_byte_per_bit_pack_like_the_list(bits: list[int]) -> None:
    # A callback may keep its bits as libmodbus's tab_bits: one byte per bit, in a
    # bytearray (or bytes, a memoryview); every nonzero byte is a 1, as in a list.
    expected = P.pack_bits([bool(b) for b in bits])
    assert P.pack_bits(bytearray(bits)) == expected
    assert P.pack_bits(bytes(bits)) == expected
    assert P.pack_bits(memoryview(bytearray(bits))) == expected
    assert P.pack_bits(bits) == expected
    assert P.unpack_bits(expected, len(bits)) == [bool(b) for b in bits]


def test_bits_from_a_bytearray_slice_keep_the_spec_example() -> None:
    table = bytearray(20) + bytes.fromhex(
        "01 00 01 01 00 00 01 01 01 01 00 01 00 01 01 00 01 00 01"
    )
    table[20], table[22] = 255, 7  # truthy, not 1
    assert P.pack_bits(table[20:39]) == bytes.fromhex("CD6B05")
    assert P.encode_read_bits_response(1, table[20:39]) == bytes.fromhex("0103CD6B05")


def test_bits_from_truthy_values_and_wide_buffers() -> None:
    # Values bytes() refuses (over 255, negative, floats, strings) and buffers whose items
    # are wider than a byte are still packed one bit per item, truthy = 1.
    expected = bytes.fromhex("05")
    assert P.pack_bits([300, 0, -1]) == expected
    assert P.pack_bits([0.5, 0.0, "x"]) == expected
    assert P.pack_bits(memoryview(array("H", [256, 0, 1]))) == expected
    assert P.pack_bits(array("H", [256, 0, 1])) == expected


@given(st.sampled_from([1, 2, 3, 4]), addresses, st.integers(1, 125))
def test_read_request_round_trip(fc: int, address: int, count: int) -> None:
    pdu = P.encode_read_request(fc, address, count)
    if address + count > 0x10000:
        with pytest.raises(IllegalDataAddress):
            P.decode_read_request(pdu, 125)
    else:
        assert P.decode_read_request(pdu, 125) == (address, count)


@pytest.mark.parametrize(("count", "max_count"), [(0, 2000), (2001, 2000), (0, 125), (126, 125)])
def test_read_quantity_outside_limits_is_illegal_data_value(count: int, max_count: int) -> None:
    with pytest.raises(IllegalDataValue):
        P.decode_read_request(P.encode_read_request(3, 0, count), max_count)


def test_read_quantity_is_checked_before_address() -> None:
    # Quantity 0 at the end of the space: 03 wins over 02 (spec state diagram order).
    with pytest.raises(IllegalDataValue):
        P.decode_read_request(P.encode_read_request(3, 0xFFFF, 0), 125)
    with pytest.raises(IllegalDataAddress):
        P.decode_read_request(P.encode_read_request(3, 0xFFFF, 2), 125)


@pytest.mark.parametrize("length", [1, 4, 6])
def test_read_request_with_wrong_length_is_illegal_data_value(length: int) -> None:
    pdu = P.encode_read_request(3, 0, 1) + b"\x00"
    with pytest.raises(IllegalDataValue):
        P.decode_read_request(pdu[:length], 125)


@given(st.sampled_from([1, 2]), st.lists(st.booleans(), min_size=1, max_size=2000))
def test_read_bits_response_round_trip(fc: int, bits: list[bool]) -> None:
    pdu = P.encode_read_bits_response(fc, bits)
    assert pdu[0] == fc
    assert P.decode_read_bits_response(pdu, len(bits)) == bits


@given(st.sampled_from([3, 4, 23]), st.lists(registers, min_size=1, max_size=125))
def test_read_registers_response_round_trip(fc: int, values: list[int]) -> None:
    pdu = P.encode_read_registers_response(fc, values)
    assert pdu[:2] == bytes((fc, 2 * len(values)))
    assert P.decode_read_registers_response(pdu) == values


def test_read_registers_response_with_bad_byte_count_is_protocol_error() -> None:
    with pytest.raises(ModbusProtocolError):
        P.decode_read_registers_response(bytes((3, 3, 0, 1, 2)))


@given(addresses, st.booleans())
def test_write_single_coil_round_trip(address: int, value: bool) -> None:
    pdu = P.encode_write_single_coil_request(address, value)
    assert pdu[3:] == (b"\xff\x00" if value else b"\x00\x00")
    assert P.decode_write_single_coil_request(pdu) == (address, value)


@pytest.mark.parametrize("value", [0x0001, 0x00FF, 0xFFFF, 0xFF01])
def test_write_single_coil_value_other_than_ff00_or_0000_is_illegal_data_value(value: int) -> None:
    with pytest.raises(IllegalDataValue):
        P.decode_write_single_coil_request(bytes((5, 0, 1)) + value.to_bytes(2, "big"))


@given(addresses, registers)
def test_write_single_register_round_trip(address: int, value: int) -> None:
    assert P.decode_write_single_register_request(
        P.encode_write_single_register_request(address, value)
    ) == (address, value)


@given(addresses, st.lists(st.booleans(), min_size=1, max_size=1968))
def test_write_multiple_coils_round_trip(address: int, values: list[bool]) -> None:
    pdu = P.encode_write_multiple_coils_request(address, values)
    if address + len(values) > 0x10000:
        with pytest.raises(IllegalDataAddress):
            P.decode_write_multiple_coils_request(pdu)
    else:
        assert P.decode_write_multiple_coils_request(pdu) == (address, values)


def test_write_multiple_coils_limits() -> None:
    with pytest.raises(IllegalDataValue):
        P.decode_write_multiple_coils_request(P.encode_write_multiple_coils_request(0, [1] * 1969))
    pdu = bytearray(P.encode_write_multiple_coils_request(0, [1] * 9))
    pdu[5] = 1  # byte count 1 for 9 coils
    with pytest.raises(IllegalDataValue):
        P.decode_write_multiple_coils_request(bytes(pdu))
    with pytest.raises(IllegalDataValue):
        P.decode_write_multiple_coils_request(bytes((15, 0, 0, 0, 0, 0)))


@given(addresses, st.lists(registers, min_size=1, max_size=123))
def test_write_multiple_registers_round_trip(address: int, values: list[int]) -> None:
    pdu = P.encode_write_multiple_registers_request(address, values)
    if address + len(values) > 0x10000:
        with pytest.raises(IllegalDataAddress):
            P.decode_write_multiple_registers_request(pdu)
    else:
        assert P.decode_write_multiple_registers_request(pdu) == (address, values)


def test_write_multiple_registers_limits() -> None:
    with pytest.raises(IllegalDataValue):
        P.decode_write_multiple_registers_request(
            P.encode_write_multiple_registers_request(0, [1] * 124)
        )
    truncated = P.encode_write_multiple_registers_request(0, [1, 2])[:-1]
    with pytest.raises(IllegalDataValue):
        P.decode_write_multiple_registers_request(truncated)


@given(addresses, st.integers(1, 2000))
def test_write_multiple_response_round_trip(address: int, count: int) -> None:
    pdu = P.encode_write_multiple_response(15, address, count)
    assert P.decode_write_multiple_response(pdu) == (address, count)


@given(addresses, registers, registers)
def test_mask_write_round_trip(address: int, and_mask: int, or_mask: int) -> None:
    pdu = P.encode_mask_write_request(address, and_mask, or_mask)
    assert P.decode_mask_write_request(pdu) == (address, and_mask, or_mask)


def test_mask_write_spec_example() -> None:
    # Spec 6.16: current 0x12, AND 0xF2, OR 0x25 -> 0x17
    assert P.apply_mask(0x12, 0xF2, 0x25) == 0x17


@given(addresses, st.integers(1, 125), addresses, st.lists(registers, min_size=1, max_size=121))
def test_read_write_request_round_trip(
    read_address: int, read_count: int, write_address: int, values: list[int]
) -> None:
    pdu = P.encode_read_write_request(read_address, read_count, write_address, values)
    out_of_space = read_address + read_count > 0x10000 or write_address + len(values) > 0x10000
    if out_of_space:
        with pytest.raises(IllegalDataAddress):
            P.decode_read_write_request(pdu)
    else:
        assert P.decode_read_write_request(pdu) == (read_address, read_count, write_address, values)


@pytest.mark.parametrize(("read_count", "write_count"), [(0, 1), (126, 1), (1, 0), (1, 122)])
def test_read_write_quantity_limits(read_count: int, write_count: int) -> None:
    pdu = P.encode_read_write_request(0, read_count, 0, [0] * write_count)
    with pytest.raises(IllegalDataValue):
        P.decode_read_write_request(pdu)


@given(st.integers(0, 0xFFFF), st.binary(max_size=200))
def test_diagnostics_round_trip(sub_function: int, data: bytes) -> None:
    pdu = P.encode_diagnostics_request(sub_function, data)
    assert P.decode_diagnostics_request(pdu) == (sub_function, data)


@given(st.integers(1, 4), st.integers(0, 255))
def test_device_id_request_round_trip(read_code: int, object_id: int) -> None:
    pdu = P.encode_device_id_request(read_code, object_id)
    assert P.decode_device_id_request(pdu) == (0x0E, read_code, object_id)


@given(
    st.integers(1, 4),
    st.integers(0, 255),
    st.one_of(st.none(), st.integers(0, 255)),
    st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=20)), max_size=8),
)
def test_device_id_response_round_trip(
    read_code: int, conformity: int, next_id: int | None, objects: list[tuple[int, bytes]]
) -> None:
    pdu = P.encode_device_id_response(read_code, conformity, next_id, objects)
    assert P.decode_device_id_response(pdu) == (read_code, conformity, next_id, objects)


@given(st.integers(1, 0x7F), st.sampled_from([1, 2, 3, 4, 6, 0x0B]))
def test_exception_response_round_trip(fc: int, code: int) -> None:
    pdu = P.encode_exception_response(fc, code)
    assert pdu == bytes((fc | 0x80, code))
    assert P.decode_exception_response(pdu) == (fc, code)


def test_raise_for_exception_raises_the_class_of_the_code() -> None:
    with pytest.raises(ServerDeviceFailure):
        P.raise_for_exception(bytes((0x83, 0x04)))
    with pytest.raises(ModbusProtocolError):
        P.raise_for_exception(bytes((0x83, 0x7E)))
    P.raise_for_exception(bytes((0x03, 0x02, 0, 0)))
