"""Property tests: any block read equals the slice of the points' encodings, and writing
what was read gives back the values (within the type's precision)."""

from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st

from custom_components.modbus_server.registermap import (
    LAYOUTS,
    DataType,
    Point,
    RegisterMap,
    UnmappedPolicy,
)
from custom_components.modbus_server.registermap.datatypes import integer_range

from .helpers import HR

TYPES = [t for t in DataType if t is not DataType.BOOL]


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[Point], dict[str, object]]:
    """Writable holding-register points at random, non-overlapping places, with values."""
    points: list[Point] = []
    values: dict[str, object] = {}
    address = draw(st.integers(0, 10))
    for n in range(draw(st.integers(1, 12))):
        data_type = draw(st.sampled_from(TYPES))
        word, byte = draw(st.sampled_from(list(LAYOUTS.values())))
        name = f"p{n}"
        if data_type is DataType.BIT:
            bits = draw(st.lists(st.integers(0, 15), unique=True, min_size=1, max_size=4))
            for bit in bits:
                points.append(
                    Point(
                        area=HR,
                        address=address,
                        data_type=data_type,
                        bit=bit,
                        name=f"{name}b{bit}",
                        writable=True,
                    )
                )
                values[f"{name}b{bit}"] = draw(st.booleans())
            address += 1 + draw(st.integers(0, 2))
            continue
        if data_type is DataType.STRING:
            length = draw(st.integers(1, 4))
            p = Point(
                area=HR,
                address=address,
                data_type=data_type,
                length=length,
                byte_order=byte,
                name=name,
                writable=True,
            )
            values[name] = draw(
                st.text(st.characters(codec="ascii", exclude_characters="\0"), max_size=2 * length)
            )
        else:
            scale = draw(st.sampled_from([1.0, 0.1, 0.5]))
            p = Point(
                area=HR,
                address=address,
                data_type=data_type,
                scale=scale,
                word_order=word,
                byte_order=byte,
                name=name,
                writable=True,
            )
            if data_type.is_float:
                values[name] = draw(st.floats(-1e6, 1e6, width=32))
            else:
                low, high = integer_range(data_type)
                if scale != 1:  # keep scaled values where a float holds them exactly
                    low, high = max(low, -(1 << 40)), min(high, 1 << 40)
                values[name] = (
                    draw(st.integers(low, high)) * scale
                    if scale != 1
                    else draw(st.integers(low, high))
                )
        points.append(p)
        values.setdefault(name, 0)
        address += p.register_count + draw(st.integers(0, 2))
    return points, values


@settings(max_examples=150, deadline=None)
@given(layout=layouts(), data=st.data())
def test_block_read_is_the_slice_of_the_encodings(
    layout: tuple[list[Point], dict[str, object]], data: st.DataObject
) -> None:
    points, values = layout
    table = RegisterMap(points, unmapped=UnmappedPolicy.ZERO)
    image: dict[int, int] = {}
    for p in points:
        registers = table.encode(p, values[p.name])
        if p.data_type is DataType.BIT:
            assert p.bit is not None
            image[p.address] = image.get(p.address, 0) | (registers[0] << p.bit)
        else:
            for i, register in enumerate(registers):
                image[p.address + i] = register
    end = max(image) + 1
    start = data.draw(st.integers(0, end - 1))
    count = data.draw(st.integers(1, min(125, end - start + 3)))
    got = table.read(HR, start, count, lambda p: values[p.name])
    assert got == [image.get(a, 0) for a in range(start, start + count)]


@settings(max_examples=150, deadline=None)
@given(layout=layouts())
def test_writing_what_was_read_gives_the_values_back(
    layout: tuple[list[Point], dict[str, object]],
) -> None:
    points, values = layout
    table = RegisterMap(points, unmapped=UnmappedPolicy.ZERO)
    for p in points:
        count = p.register_count
        block = table.read(HR, p.address, count, lambda q: values[q.name])
        written = {q.name: v for q, v in table.write(HR, p.address, block)}
        assert p.name in written
        expected, got = values[p.name], written[p.name]
        if p.data_type.is_float:
            assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6)  # type: ignore[arg-type]
        elif p.data_type.is_integer and p.scale != 1:
            assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=p.scale / 2)  # type: ignore[arg-type]
        else:
            assert got == expected
