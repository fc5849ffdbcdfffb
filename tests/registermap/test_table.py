"""Block reads and writes over the compiled map, with the exact Modbus exceptions."""

from __future__ import annotations

import math
import struct

import pytest

from custom_components.modbus_server.modbus.exceptions import (
    IllegalDataAddress,
    IllegalDataValue,
    ServerDeviceFailure,
)
from custom_components.modbus_server.registermap import (
    UNAVAILABLE,
    ByteOrder,
    EncodingError,
    Point,
    RegisterMap,
    UnmappedPolicy,
    WordOrder,
)

from .helpers import CO, DI, HR, IR, Values, point


def f32(value: float) -> list[int]:
    return list(struct.unpack(">2H", struct.pack(">f", value)))


@pytest.fixture
def holding() -> RegisterMap:
    return RegisterMap(
        [
            point(HR, 0, "float32", name="temp", writable=True),
            point(HR, 2, "int16", name="setpoint", scale=0.1, writable=True),
            point(HR, 3, "uint16", name="status"),
            point(HR, 4, "bit", bit=0, name="pump", writable=True),
            point(HR, 4, "bit", bit=2, name="fan", writable=True),
            point(HR, 5, "uint32", name="energy", word_order=WordOrder.LITTLE, writable=True),
            point(HR, 10, "string", length=3, name="label", writable=True),
        ]
    )


VALUES = {
    "temp": 21.5,
    "setpoint": 19.5,
    "status": 7,
    "pump": True,
    "fan": "on",
    "energy": 0x12345678,
    "label": "AB",
}


def test_read_point_is_the_block_read_of_exactly_that_point(holding: RegisterMap) -> None:
    for p in holding.points:
        count = 1 if p.data_type == "bit" else p.register_count  # a bit point: its register
        assert list(holding.read_point(p, Values(VALUES))) == holding.read(
            p.area, p.address, count, Values(VALUES)
        ), p.name
    missing = {**VALUES, "pump": UNAVAILABLE}  # a bit has no default unavailable value
    fan = next(p for p in holding.points if p.name == "fan")
    with pytest.raises(ServerDeviceFailure, match="pump"):
        holding.read_point(fan, Values(missing))  # its register holds the pump's bit too


def test_block_read_spanning_several_points(holding: RegisterMap) -> None:
    registers = holding.read(HR, 0, 7, Values(VALUES))
    assert registers == [*f32(21.5), 195, 7, 0b101, 0x5678, 0x1234]


def test_read_of_part_of_a_multi_register_value(holding: RegisterMap) -> None:
    assert holding.read(HR, 1, 2, Values(VALUES)) == [f32(21.5)[1], 195]
    assert holding.read(HR, 6, 1, Values(VALUES)) == [0x1234]
    assert holding.read(HR, 11, 1, Values(VALUES)) == [0]


def test_unmapped_address_in_a_read_is_illegal_data_address(holding: RegisterMap) -> None:
    provider = Values(VALUES)
    with pytest.raises(IllegalDataAddress, match="holding_register 7 is not mapped"):
        holding.read(HR, 5, 3, provider)
    assert provider.calls == []  # addresses are checked before any value is fetched


def test_unmapped_policy_zero_reads_gaps_as_zero() -> None:
    m = RegisterMap(
        [point(IR, 1, "int16", name="a"), point(IR, 5, "int16", name="b")],
        unmapped=UnmappedPolicy.ZERO,
    )
    assert m.read(IR, 0, 7, Values({"a": -1, "b": 2})) == [0, 0xFFFF, 0, 0, 0, 2, 0]
    assert m.read(IR, 100, 125, Values({})) == [0] * 125


def test_unmapped_policy_zero_does_not_allow_writes_to_gaps() -> None:
    m = RegisterMap([point(HR, 1, "int16", writable=True)], unmapped=UnmappedPolicy.ZERO)
    with pytest.raises(IllegalDataAddress):
        m.write(HR, 0, [1, 2])


def test_read_past_the_end_of_the_address_space() -> None:
    m = RegisterMap([point(HR, 65535, "uint16")], unmapped=UnmappedPolicy.ZERO)
    with pytest.raises(IllegalDataAddress):
        m.read(HR, 65535, 2, Values({}))
    with pytest.raises(IllegalDataAddress):
        m.read(HR, -1, 1, Values({}))


def test_read_of_zero_registers_is_illegal_data_value(holding: RegisterMap) -> None:
    with pytest.raises(IllegalDataValue):
        holding.read(HR, 0, 0, Values(VALUES))


def test_empty_map_reads_fail_by_default() -> None:
    with pytest.raises(IllegalDataAddress):
        RegisterMap([]).read(CO, 0, 1, Values({}))


def test_each_point_is_fetched_once_per_block(holding: RegisterMap) -> None:
    provider = Values(VALUES)
    holding.read(HR, 0, 7, provider)
    assert sorted(provider.calls) == sorted(set(VALUES) - {"label"})


def test_bit_area_reads() -> None:
    m = RegisterMap(
        [point(CO, 0, "bool", name="a"), point(CO, 1, "bool", name="b")]
        + [point(DI, i, "bool", name=f"d{i}") for i in range(2000)]
    )
    assert m.read(CO, 0, 2, Values({"a": True, "b": 0})) == [1, 0]
    assert m.read(DI, 0, 2000, Values({f"d{i}": i % 3 == 0 for i in range(2000)})) == [
        int(i % 3 == 0) for i in range(2000)
    ]


# -- unavailable -----------------------------------------------------------------------


def test_unavailable_uses_the_per_type_default() -> None:
    m = RegisterMap(
        [
            point(IR, 0, "float32", name="f"),
            point(IR, 2, "int16", name="i"),
            point(IR, 3, "uint16", name="u"),
            point(IR, 4, "string", length=2, name="s"),
        ]
    )
    provider = Values(dict.fromkeys("fius", UNAVAILABLE))
    assert m.read(IR, 0, 6, provider) == [0x7FC0, 0, 0x8000, 0xFFFF, 0, 0]


def test_none_counts_as_unavailable() -> None:
    m = RegisterMap([point(IR, 0, "uint16", name="u")])
    assert m.read(IR, 0, 1, Values({"u": None})) == [0xFFFF]


def test_unavailable_value_wins() -> None:
    m = RegisterMap(
        [
            point(IR, 0, "int16", name="i", scale=0.1, unavailable_value=-999.9),
            point(IR, 1, "float32", name="f", unavailable_value=-1),
            point(DI, 0, "bool", name="b", unavailable_value=1),
            point(IR, 3, "bit", bit=4, name="x", unavailable_value=1),
        ]
    )
    provider = Values(dict.fromkeys("ifbx", UNAVAILABLE))
    assert m.read(IR, 0, 4, provider) == [0xD8F1, *f32(-1.0), 0x0010]
    assert m.read(DI, 0, 1, provider) == [1]


@pytest.mark.parametrize(
    ("area", "p"),
    [(CO, point(CO, 0, "bool", name="b")), (HR, point(HR, 0, "bit", bit=1, name="b"))],
)
def test_unavailable_bits_without_a_value_fail_with_server_device_failure(
    area: object, p: Point
) -> None:
    m = RegisterMap([p])
    with pytest.raises(ServerDeviceFailure, match="is unavailable"):
        m.read(area, 0, 1, Values({"b": UNAVAILABLE}))  # type: ignore[arg-type]


def test_provider_value_that_does_not_fit_is_server_device_failure() -> None:
    m = RegisterMap([point(IR, 0, "uint16", name="u"), point(IR, 1, "bit", bit=0, name="b")])
    with pytest.raises(ServerDeviceFailure, match="does not fit uint16"):
        m.read(IR, 0, 1, Values({"u": 70000}))
    with pytest.raises(ServerDeviceFailure, match="not a number"):
        m.read(IR, 0, 1, Values({"u": "hot"}))
    with pytest.raises(ServerDeviceFailure, match="not a bit value"):
        m.read(IR, 1, 1, Values({"b": 5}))


# -- writes ----------------------------------------------------------------------------


def test_block_write_yields_engineering_values_per_point(holding: RegisterMap) -> None:
    values = [*f32(22.5), 201, 0b100, 0x5678, 0x1234]
    with pytest.raises(IllegalDataAddress, match="read-only"):
        holding.write(HR, 0, values)  # status (3) is read-only
    result = holding.write(HR, 0, [*f32(22.5), 201])
    assert [(p.name, v) for p, v in result] == [("temp", 22.5), ("setpoint", 20.1)]
    result = holding.write(HR, 4, [0b100, 0x5678, 0x1234])
    assert [(p.name, v) for p, v in result] == [
        ("pump", False),
        ("fan", True),
        ("energy", 0x12345678),
    ]


def test_write_of_a_string(holding: RegisterMap) -> None:
    [(p, value)] = holding.write(HR, 10, [0x4869, 0x2100, 0])
    assert (p.name, value) == ("label", "Hi!")


def test_write_covering_part_of_a_value_is_illegal_data_address(holding: RegisterMap) -> None:
    with pytest.raises(IllegalDataAddress, match="only part of 'temp'"):
        holding.write(HR, 1, [0, 195])
    with pytest.raises(IllegalDataAddress, match="only part of 'temp'"):
        holding.write(HR, 0, [0x41B4])
    with pytest.raises(IllegalDataAddress, match="write all 3 registers"):
        holding.write(HR, 10, [0x4142, 0])


def test_write_to_unmapped_address_is_illegal_data_address(holding: RegisterMap) -> None:
    with pytest.raises(IllegalDataAddress, match="7 is not mapped"):
        holding.write(HR, 5, [1, 2, 3])


def test_write_to_read_only_point_is_illegal_data_address(holding: RegisterMap) -> None:
    with pytest.raises(IllegalDataAddress, match=r"'status' .* is read-only"):
        holding.write(HR, 3, [1])


def test_write_to_a_read_only_area_is_illegal_data_address() -> None:
    m = RegisterMap([point(IR, 0, "int16")])
    with pytest.raises(IllegalDataAddress):
        m.write(IR, 0, [1])


def test_write_register_out_of_range_is_illegal_data_value(holding: RegisterMap) -> None:
    with pytest.raises(IllegalDataValue):
        holding.write(HR, 2, [0x10000])
    with pytest.raises(IllegalDataValue):
        holding.write(HR, 2, [-1])


def test_write_of_nan_into_a_float_point_is_illegal_data_value(holding: RegisterMap) -> None:
    with pytest.raises(IllegalDataValue, match="not a usable value"):
        holding.write(HR, 0, [0x7FC0, 0])


def test_write_of_invalid_utf8_is_illegal_data_value(holding: RegisterMap) -> None:
    with pytest.raises(IllegalDataValue, match="UTF-8"):
        holding.write(HR, 10, [0xFFFE, 0, 0])


def test_failed_write_applies_nothing() -> None:
    # a good value first, then a bad one: the result is an exception, never a partial list
    m = RegisterMap([point(HR, 0, "int16", writable=True), point(HR, 1, "float32", writable=True)])
    assert len(m.write(HR, 0, [5, *f32(1.0)])) == 2
    with pytest.raises(IllegalDataValue):
        m.write(HR, 0, [5, 0x7FC0, 0])


def test_address_errors_take_precedence_over_value_errors(holding: RegisterMap) -> None:
    with pytest.raises(IllegalDataAddress):
        holding.write(HR, 2, [0x10000, 0, 0])


def test_coil_writes() -> None:
    m = RegisterMap(
        [
            point(CO, 0, "bool", name="a", writable=True),
            point(CO, 1, "bool", name="b", writable=True),
        ]
    )
    assert [(p.name, v) for p, v in m.write(CO, 0, [1, 0])] == [("a", True), ("b", False)]
    assert [(p.name, v) for p, v in m.write(CO, 1, [True])] == [("b", True)]
    with pytest.raises(IllegalDataValue):
        m.write(CO, 0, [2])
    with pytest.raises(IllegalDataAddress):
        m.write(CO, 0, [1, 1, 1])


def test_read_only_coil_write_is_illegal_data_address() -> None:
    m = RegisterMap([point(CO, 0, "bool", name="a")])
    with pytest.raises(IllegalDataAddress, match="read-only"):
        m.write(CO, 0, [1])


def test_write_of_nothing_is_illegal_data_value(holding: RegisterMap) -> None:
    with pytest.raises(IllegalDataValue):
        holding.write(HR, 0, [])


def test_write_of_a_register_with_unmapped_bits_applies_only_mapped_bits(
    holding: RegisterMap,
) -> None:
    result = holding.write(HR, 4, [0xFFFF])
    assert [(p.name, v) for p, v in result] == [("pump", True), ("fan", True)]


def test_read_only_bit_register() -> None:
    m = RegisterMap([point(HR, 0, "bit", bit=0), point(HR, 0, "bit", bit=1)])
    with pytest.raises(IllegalDataAddress, match="read-only"):
        m.write(HR, 0, [3])


def test_scaled_write_decodes_to_engineering_value() -> None:
    m = RegisterMap([point(HR, 0, "int16", scale=0.1, offset=-40, writable=True, name="t")])
    [(_, value)] = m.write(HR, 0, [615])
    assert value == pytest.approx(21.5)


def test_write_then_read_round_trip_through_a_store(holding: RegisterMap) -> None:
    store = dict(VALUES)
    block = [*f32(30.25), 0xFF38, 7, 0b001, 0xBEEF, 0xDEAD]
    # status at 3 is read-only, so write around it
    for p, v in [*holding.write(HR, 0, block[:3]), *holding.write(HR, 4, block[4:])]:
        store[p.name] = v
    assert holding.read(HR, 0, 7, Values(store)) == block


# -- helpers ---------------------------------------------------------------------------


def test_encode_for_a_cache(holding: RegisterMap) -> None:
    temp = holding.find(HR, 0)
    assert temp is not None
    assert holding.encode(temp, 21.5) == tuple(f32(21.5))
    pump = holding.find(HR, 4)
    assert pump is not None
    assert pump.name == "pump"
    assert holding.encode(pump, True) == (1,)
    with pytest.raises(EncodingError):
        holding.encode(temp, 1e39)
    other = point(HR, 0, "int16", scale=0.5)  # not part of the map: compiled on the fly
    assert holding.encode(other, 3) == (6,)
    assert holding.decode(other, [6]) == 3.0


def test_find(holding: RegisterMap) -> None:
    assert holding.find(HR, 1) is holding.points[0]
    assert holding.find(HR, 7) is None
    assert holding.find(IR, 0) is None
    assert [p.name for p in holding.find_all(HR, 4)] == ["pump", "fan"]
    assert [p.name for p in holding.find_all(HR, 6)] == ["energy"]
    assert holding.find_all(HR, 9) == ()


def test_next_free_address(holding: RegisterMap) -> None:
    assert holding.next_free_address(HR, 1) == 7
    assert holding.next_free_address(HR, 3) == 7
    assert holding.next_free_address(HR, 4) == 13
    assert holding.next_free_address(HR, 2, start=9) == 13
    assert holding.next_free_address(HR, 1, start=8) == 8
    assert holding.next_free_address(IR, 4) == 0
    m = RegisterMap([point(HR, 65534, "uint16")])
    assert m.next_free_address(HR, 1, start=65534) == 65535
    assert m.next_free_address(HR, 2, start=65530) == 65530
    with pytest.raises(ValueError, match="no 2 free"):
        RegisterMap([point(HR, 65535, "uint16")]).next_free_address(HR, 2, start=65534)


def test_map_exposes_points_and_policy(holding: RegisterMap) -> None:
    assert len(holding) == 7
    assert [p.name for p in holding][:2] == ["temp", "setpoint"]
    assert holding.unmapped is UnmappedPolicy.ERROR
    assert RegisterMap([], unmapped="zero").unmapped is UnmappedPolicy.ZERO  # type: ignore[arg-type]


def test_byte_order_little_in_a_block() -> None:
    m = RegisterMap([point(IR, 0, "float32", name="f", byte_order=ByteOrder.LITTLE)])
    hi, lo = f32(1.0)
    swap = lambda r: ((r & 0xFF) << 8) | (r >> 8)  # noqa: E731
    assert m.read(IR, 0, 2, Values({"f": 1.0})) == [swap(hi), swap(lo)]
    assert math.isnan(m.codec(m.points[0]).decode((0xC07F, 0)))  # type: ignore[arg-type]
