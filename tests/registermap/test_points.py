"""Point properties and validation messages, per field and across the map."""

from __future__ import annotations

import math

import pytest

from custom_components.modbus_server.registermap import (
    ByteOrder,
    DataType,
    FieldError,
    MapValidationError,
    Point,
    RegisterMap,
    WordOrder,
    validate_point,
    validate_points,
)

from .helpers import CO, DI, HR, IR, point


def fields(p: Point) -> dict[str, str]:
    return {e.field: e.message for e in validate_point(p)}


def test_register_counts_per_type() -> None:
    assert point(CO, 0, "bool").register_count == 1
    assert point(HR, 0, "bit", bit=3).register_count == 1
    assert point(HR, 0, "int16").register_count == 1
    assert point(HR, 0, "float32").register_count == 2
    assert point(HR, 0, "uint64").register_count == 4
    assert point(HR, 0, "float64").register_count == 4
    assert point(HR, 0, "string", length=10).register_count == 10


@pytest.mark.parametrize(
    ("area", "address", "number", "text"),
    [
        (CO, 0, 1, "00001"),
        (DI, 0, 10001, "10001"),
        (IR, 0, 30001, "30001"),
        (HR, 0, 40001, "40001"),
        (HR, 9998, 49999, "49999"),
        (HR, 9999, 410000, "410000"),
        (HR, 65535, 465536, "465536"),
        (CO, 65535, 65536, "065536"),
        (IR, 99, 30100, "30100"),
    ],
)
def test_plc_address(area: object, address: int, number: int, text: str) -> None:
    p = point(area, address, "bool" if area in (CO, DI) else "uint16")  # type: ignore[arg-type]
    assert p.plc_address == number
    assert p.plc_reference == text


def test_layout_property() -> None:
    p = point(HR, 0, "float32", word_order=WordOrder.LITTLE, byte_order=ByteOrder.BIG)
    assert p.layout == "CDAB"


def test_points_are_hashable_and_frozen() -> None:
    p = point(HR, 0, "int16")
    assert {p: 1}[point(HR, 0, "int16")] == 1
    with pytest.raises(AttributeError):
        p.address = 3  # type: ignore[misc]


def test_valid_points_have_no_errors() -> None:
    assert validate_point(point(HR, 0, "float32", writable=True, scale=0.1, offset=2)) == []
    assert validate_point(point(CO, 0, "bool", writable=True)) == []
    assert validate_point(point(IR, 65535, "uint16")) == []


@pytest.mark.parametrize("address", [-1, 65536, 1.5, True])
def test_address_range(address: object) -> None:
    assert "0 to 65535" in fields(point(HR, address, "int16"))["address"]  # type: ignore[arg-type]


def test_address_plus_register_count_past_65535() -> None:
    assert validate_point(point(HR, 65534, "float32")) == []
    assert fields(point(HR, 65535, "float32"))["address"] == (
        "float32 needs 2 registers: 65535 + 2 runs past 65535"
    )


@pytest.mark.parametrize("area", [IR, DI])
def test_writable_on_read_only_area(area: object) -> None:
    data_type = "bool" if area is DI else "int16"
    assert "read-only" in fields(point(area, 0, data_type, writable=True))["writable"]  # type: ignore[arg-type]


def test_bool_only_in_bit_areas_and_registers_only_in_register_areas() -> None:
    assert "use bit" in fields(point(HR, 0, "bool"))["data_type"]
    assert "use bool" in fields(point(CO, 0, "int16"))["data_type"]


@pytest.mark.parametrize("bit", [None, -1, 16, 1.0])
def test_bit_index_range(bit: object) -> None:
    assert "0 (least significant) to 15" in fields(point(HR, 0, "bit", bit=bit))["bit"]


def test_bit_only_on_bit_points() -> None:
    assert "only bit points" in fields(point(HR, 0, "int16", bit=1))["bit"]


@pytest.mark.parametrize("length", [None, 0, 126])
def test_string_length(length: object) -> None:
    assert "1 to 125 registers" in fields(point(HR, 0, "string", length=length))["length"]


def test_length_only_on_strings() -> None:
    assert "only strings" in fields(point(HR, 0, "int16", length=2))["length"]


def test_scale_zero() -> None:
    assert fields(point(HR, 0, "int16", scale=0))["scale"] == (
        "must not be 0 (engineering = raw x scale + offset)"
    )


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_scale_and_offset_must_be_finite(value: float) -> None:
    errors = fields(point(HR, 0, "int16", scale=value, offset=value))
    assert errors["scale"] == "must be a finite number"
    assert errors["offset"] == "must be a finite number"


def test_scale_on_non_numbers() -> None:
    errors = fields(point(HR, 0, "string", length=2, scale=2, offset=1))
    assert "not scaled" in errors["scale"]
    assert "not scaled" in errors["offset"]


def test_orders_do_not_apply_to_bits_or_string_word_order() -> None:
    assert (
        "does not apply to bool"
        in fields(point(CO, 0, "bool", byte_order=ByteOrder.LITTLE))["word_order"]
    )
    assert (
        "does not apply to strings"
        in fields(point(HR, 0, "string", length=2, word_order=WordOrder.LITTLE))["word_order"]
    )
    assert validate_point(point(HR, 0, "string", length=2, byte_order=ByteOrder.LITTLE)) == []


def test_unknown_enum_values() -> None:
    p = Point(area="nope", address=0, data_type="int16")  # type: ignore[arg-type]
    errors = fields(p)
    assert "unknown area 'nope'" in errors["area"]
    assert "unknown data type" in errors["data_type"]


@pytest.mark.parametrize(
    ("data_type", "kwargs", "value", "message"),
    [
        ("uint16", {}, -1, "does not fit uint16"),
        ("int16", {}, math.nan, "cannot be encoded as int16"),
        ("int16", {"scale": 0.1}, 5000, "does not fit int16"),
        ("string", {"length": 1}, "abc", "does not fit 1 registers"),
        ("string", {"length": 1}, 5, "must be text"),
        ("float32", {}, "n/a", "must be a number"),
    ],
)
def test_unavailable_value_must_encode(
    data_type: str, kwargs: dict[str, object], value: object, message: str
) -> None:
    assert (
        message
        in fields(point(HR, 0, data_type, unavailable_value=value, **kwargs))["unavailable_value"]
    )


def test_field_errors_carry_the_point_name() -> None:
    (error,) = validate_point(point(HR, 0, "int16", scale=0, name="boiler"))
    assert error == FieldError("scale", error.message, None, "boiler")
    assert str(error).startswith("'boiler': scale: ")


# -- map level -----------------------------------------------------------------------


def test_overlap_names_both_points_and_the_addresses() -> None:
    a = point(HR, 100, "float32", name="a")
    b = point(HR, 101, "int32", name="b")
    (error,) = validate_points([a, b])
    assert error.index == 1
    assert error.related == 0
    assert error.field == "address"
    assert error.message == (
        "'b' (holding_register 101..102) overlaps 'a' (holding_register 100..101) at "
        "holding_register address 101"
    )


def test_same_address_in_different_areas_does_not_overlap() -> None:
    assert validate_points([point(HR, 0, "int16"), point(IR, 0, "int16")]) == []


def test_bit_points_of_one_register_with_different_bits_do_not_overlap() -> None:
    points = [point(HR, 5, "bit", bit=b) for b in (0, 7, 15)]
    assert validate_points(points) == []


def test_bit_points_with_the_same_bit_overlap() -> None:
    a = point(HR, 5, "bit", bit=3, name="a")
    b = point(HR, 5, "bit", bit=1, name="x")
    c = point(HR, 5, "bit", bit=3, name="c")
    (error,) = validate_points([a, b, c])
    assert error.index == 2
    assert "'c' (holding_register 5 bit 3) overlaps 'a'" in error.message
    assert error.message.endswith("address 5 bit 3")


def test_bit_point_overlapping_a_register_value() -> None:
    errors = validate_points([point(HR, 4, "int32", name="v"), point(HR, 5, "bit", bit=0)])
    assert len(errors) == 1
    assert "overlaps 'v'" in errors[0].message


def test_bit_points_of_a_register_share_writable() -> None:
    errors = validate_points(
        [point(HR, 5, "bit", bit=0, writable=True), point(HR, 5, "bit", bit=1)]
    )
    assert [e.field for e in errors] == ["writable"]
    assert "all be writable or all read-only" in errors[0].message


def test_overlap_with_a_long_point_spanning_several() -> None:
    long = point(HR, 0, "string", length=10, name="long")
    errors = validate_points([long, point(HR, 2, "int16"), point(HR, 9, "float32")])
    assert [e.index for e in errors] == [1, 2]
    assert all("overlaps 'long'" in e.message for e in errors)


def test_map_validation_error_lists_every_problem() -> None:
    points = [
        point(HR, 0, "int16", scale=0),
        point(HR, 1, "int16"),
        point(HR, 1, "uint16"),
        point(IR, -1, "int16"),
    ]
    with pytest.raises(MapValidationError) as caught:
        RegisterMap(points)
    assert len(caught.value.errors) == 3
    text = str(caught.value)
    assert "3 problem(s)" in text
    assert "point #1" in text
    assert "point #4" in text
    assert "(point #2)" in text
    assert isinstance(caught.value, ValueError)


def test_invalid_points_are_not_checked_for_overlaps() -> None:
    # the bad one is reported for its own field only
    errors = validate_points([point(HR, 0, "float32"), point(HR, 1, "int16", scale=0)])
    assert [e.field for e in errors] == ["scale"]


def test_data_type_enum_accepts_plain_strings() -> None:
    assert DataType("float32") is DataType.FLOAT32
