"""CSV/JSON export and import: columns, round trips, line-numbered errors, PLC notation."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import pytest
from hypothesis import given, settings, strategies as st

from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.registermap import (
    LAYOUTS,
    SETTING_COLUMNS,
    DataType,
    ImportFormatError,
    Point,
    export_csv,
    export_json,
    format_plc_address,
    import_csv,
    import_csv_rows,
    import_json,
    import_json_rows,
    parse_plc_address,
    plc_address,
)
from custom_components.modbus_server.registermap.io import (
    COLUMNS,
    MAX_IMPORT_CHARS,
    _json_element_lines,
)

from .helpers import CO, DI, HR, IR, point

POINTS = [
    point(IR, 0, "float32", name="Boiler temp", unit="°C", source="sensor.boiler", description="x"),
    point(HR, 10, "int16", name="setpoint", scale=0.1, offset=-40, writable=True, key="abc"),
    point(HR, 11, "bit", bit=0, name="pump, main", writable=True),
    point(HR, 11, "bit", bit=3, name='fan "1"', writable=True),
    point(HR, 12, "string", length=4, name="label", unavailable_value="n/a"),
    point(HR, 9999, "uint32", name="energy", word_order=LAYOUTS["CDAB"][0]),
    point(IR, 2, "float64", name="nan", unavailable_value=math.nan),
    point(CO, 0, "bool", name="relay", writable=True, unavailable_value=0),
    point(DI, 5, "bool", name="alarm"),
]


def test_csv_header_and_a_row() -> None:
    lines = export_csv(POINTS).splitlines()
    assert lines[0] == ",".join((*COLUMNS, *SETTING_COLUMNS))
    assert lines[0].startswith("name,area,address,plc_address,data_type,register_count")
    assert lines[0].endswith(",key,stale_after,write_mode")
    assert lines[1] == (
        "Boiler temp,input_register,0,30001,float32,2,,1,0,ABCD,°C,false,,sensor.boiler,x,,,"
    )
    assert lines[6] == "energy,holding_register,9999,410000,uint32,2,,1,0,CDAB,,false,,,,,,"
    assert lines[8] == "relay,coil,0,00001,bool,1,,1,0,ABCD,,true,0,,,,,"


def test_row_settings_are_exported_by_key_and_handed_to_the_reader() -> None:
    """The settings columns belong to the caller: export writes them, import passes them on."""
    settings = {"abc": {"stale_after": 0.0, "write_mode": "always"}}
    text = export_csv(POINTS, settings)
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if ",abc," in row)
    assert text.splitlines()[line - 1].endswith(",abc,0,always")
    seen: list[tuple[str, dict[str, object]]] = []

    def reader(point: Point, cells: Mapping[str, object]) -> dict[str, object]:
        if cells.get("write_mode") == "always":
            raise ValueError("write_mode: not here")
        seen.append((point.key, {c: cells.get(c) for c in SETTING_COLUMNS}))
        return {}

    with pytest.raises(ImportFormatError) as caught:
        import_csv_rows(text, reader)
    assert caught.value.errors == [(line, "write_mode: not here")]
    rows = import_json_rows(export_json(POINTS, settings))
    assert [row.settings for row in rows if row.point.key == "abc"] == [
        {"stale_after": 0.0, "write_mode": "always"}
    ]
    assert all(row.settings == {} for row in rows if row.point.key != "abc")


def test_csv_round_trip() -> None:
    text = export_csv(POINTS)
    imported = import_csv(text)
    assert export_csv(imported) == text
    assert [p for p in imported if p.name != "nan"] == [p for p in POINTS if p.name != "nan"]
    assert math.isnan(imported[6].unavailable_value)  # type: ignore[arg-type]


def test_json_round_trip() -> None:
    text = export_json(POINTS)
    document = json.loads(text)  # strict JSON: NaN is written as text
    assert document["format"] == "modbus_server.registermap"
    assert document["points"][6]["unavailable_value"] == "nan"
    imported = import_json(text)
    assert export_json(imported) == text
    assert imported[:6] == POINTS[:6]


def test_json_accepts_a_bare_list_with_defaults() -> None:
    [p] = import_json('[{"plc_address": "40001", "data_type": "uint16"}]')
    assert p == Point(area=Area.HOLDING_REGISTER, address=0, data_type=DataType.UINT16)


def test_csv_minimal_columns_and_semicolons() -> None:
    text = "Name;PLC address;Type;Scale\nflow;30005;uint16;0,5\n".replace("0,5", "0.5")
    [p] = import_csv(text)
    assert (p.name, p.area, p.address, p.scale) == ("flow", IR, 4, 0.5)


def test_csv_bom_and_blank_rows_are_ignored() -> None:
    text = "\ufeffarea,address,data_type\n\nholding_register,1,int16\n,,\n"
    assert len(import_csv(text)) == 1


def test_coil_reference_without_leading_zeros() -> None:
    [p] = import_csv("plc_address,data_type\n17,bool\n")
    assert (p.area, p.address) == (CO, 16)


def test_every_bad_row_is_reported_with_its_line_and_nothing_imported() -> None:
    text = (
        "name,area,address,data_type,scale,order,writable,register_count\n"
        "ok,holding_register,0,int16,1,ABCD,yes,\n"
        "bad area,holding,1,int16,1,ABCD,no,\n"  # alias: fine
        "bad type,holding_register,2,int17,1,ABCD,no,\n"
        "bad num,holding_register,x,int16,zero,ABDC,maybe,\n"
        "bad count,holding_register,5,float32,1,ABCD,,1\n"
        "ro,input_register,6,int16,1,ABCD,true,\n"
    )
    with pytest.raises(ImportFormatError) as caught:
        import_csv(text)
    errors = caught.value.errors
    assert [line for line, _ in errors] == [4, 5, 6, 7]
    assert "unknown data type 'int17'" in errors[0].message
    assert "address: expected a whole number, got 'x'" in errors[1].message
    assert "scale: expected a number, got 'zero'" in errors[1].message
    assert "order: unknown word/byte order 'ABDC'" in errors[1].message
    assert "writable: expected true or false, got 'maybe'" in errors[1].message
    assert "register_count: float32 uses 2, not 1" in errors[2].message
    assert "writable: a input_register is read-only" in errors[3].message
    assert "line 4:" in str(caught.value)


def test_overlaps_are_reported_with_both_line_numbers() -> None:
    text = (
        "name,area,address,data_type\n"
        "a,holding_register,0,float32\n"
        "b,input_register,1,float32\n"
        "c,holding_register,1,int16\n"
    )
    with pytest.raises(ImportFormatError) as caught:
        import_csv(text)
    [(line, message)] = caught.value.errors
    assert line == 4
    assert "'c' (holding_register 1) overlaps 'a' (holding_register 0..1)" in message
    assert message.endswith("(line 2)")


def test_plc_address_must_agree_with_area_and_address() -> None:
    with pytest.raises(ImportFormatError, match="40002 is holding_register address 1"):
        import_csv("area,address,plc_address,data_type\nholding_register,0,40002,int16\n")


def test_missing_required_columns_and_values() -> None:
    with pytest.raises(ImportFormatError, match="needs a data_type column"):
        import_csv("area,address\nholding_register,0\n")
    with pytest.raises(ImportFormatError, match="area and address, or plc_address"):
        import_csv("area,data_type\nholding_register,int16\n")
    with pytest.raises(ImportFormatError) as caught:
        import_csv("area,address,data_type\n,,int16\nholding_register,1,\n")
    assert [e.line for e in caught.value.errors] == [2, 3]
    assert "area: missing" in caught.value.errors[0].message
    assert "data_type: missing" in caught.value.errors[1].message


def test_unknown_columns_are_rejected() -> None:
    with pytest.raises(ImportFormatError, match=r"unknown column.*'scael'"):
        import_csv("area,address,data_type,scael\nholding_register,0,int16,1\n")


def test_strings_take_their_length_from_register_count() -> None:
    [p] = import_csv("area,address,data_type,register_count\nholding_register,0,string,8\n")
    assert p.length == 8
    with pytest.raises(ImportFormatError, match="strings need their length"):
        import_csv("area,address,data_type\nholding_register,0,string\n")


def test_empty_and_broken_inputs() -> None:
    with pytest.raises(ImportFormatError, match="empty"):
        import_csv("")
    with pytest.raises(ImportFormatError, match="invalid JSON") as caught:
        import_json('{"points": [\n{"a": 1,}\n]}')
    assert caught.value.errors[0].line == 2
    with pytest.raises(ImportFormatError, match="points"):
        import_json('{"points": 3}')
    with pytest.raises(ImportFormatError, match="unsupported version"):
        import_json('{"version": 2, "points": []}')
    with pytest.raises(ImportFormatError, match=r"not a modbus_server\.registermap"):
        import_json('{"format": "other", "points": []}')


def test_json_errors_point_at_the_line_of_the_object() -> None:
    text = export_json(POINTS[:2]).replace('"setpoint"', '"setpoint", "colour": 1')
    with pytest.raises(ImportFormatError) as caught:
        import_json(text)
    [(line, message)] = caught.value.errors
    assert text.splitlines()[line - 1].strip() == "{"
    assert text.splitlines()[line].strip().startswith('"name": "setpoint"')
    assert "unknown field(s) 'colour'" in message


def test_json_bad_values_are_reported() -> None:
    text = '{"points": [{"area": "coil", "address": true, "data_type": "bool"}, 5]}'
    with pytest.raises(ImportFormatError) as caught:
        import_json(text)
    messages = [e.message for e in caught.value.errors]
    assert any("each point must be an object" in m for m in messages)
    assert any("address: expected a whole number, got True" in m for m in messages)


def test_json_native_types() -> None:
    text = json.dumps(
        {
            "points": [
                {
                    "area": "holding_register",
                    "address": 3.0,
                    "data_type": "int16",
                    "scale": 0.5,
                    "writable": True,
                    "unavailable_value": -1,
                }
            ]
        }
    )
    [p] = import_json(text)
    assert (p.address, p.scale, p.writable, p.unavailable_value) == (3, 0.5, True, -1)


# -- PLC notation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "area", "address"),
    [
        ("00001", CO, 0),
        ("1", CO, 0),
        ("10001", DI, 0),
        ("30001", IR, 0),
        ("40001", HR, 0),
        ("49999", HR, 9998),
        ("400001", HR, 0),
        ("410000", HR, 9999),
        ("465536", HR, 65535),
        ("065536", CO, 65535),
    ],
)
def test_parse_plc_address(text: str, area: Area, address: int) -> None:
    assert parse_plc_address(text) == (area, address)


@pytest.mark.parametrize("text", ["20001", "40000", "4000000", "466537", "4x001", "", "465537"])
def test_parse_plc_address_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="PLC address"):
        parse_plc_address(text)


@given(area=st.sampled_from(list(Area)), address=st.integers(0, 65535))
def test_plc_format_parse_round_trip(area: Area, address: int) -> None:
    text = format_plc_address(area, address)
    assert parse_plc_address(text) == (area, address)
    assert int(text) == plc_address(area, address)


# -- property: export -> import gives the same map -------------------------------------


@st.composite
def maps(draw: st.DrawFn) -> list[Point]:
    """Random valid, non-overlapping maps (one point per 4-register slot)."""
    points: list[Point] = []
    slots = draw(st.lists(st.integers(0, 200), unique=True, max_size=12))
    text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
    for slot in slots:
        area = draw(st.sampled_from(list(Area)))
        address = slot * 4
        common = {
            "name": draw(text),
            "description": draw(text),
            "unit": draw(st.none() | text.filter(lambda t: t.strip() == t and t != "")),
            "source": draw(st.none() | st.just("sensor.x#attr")),
            "key": draw(st.sampled_from(["", "01J0ABC"])),
            "writable": area.is_writable and draw(st.booleans()),
        }
        common = {k: v.strip() if isinstance(v, str) else v for k, v in common.items()}
        if area.is_bit:
            points.append(Point(area=area, address=address, data_type=DataType.BOOL, **common))
            continue
        data_type = draw(st.sampled_from([t for t in DataType if t is not DataType.BOOL]))
        if data_type is DataType.BIT:
            for bit in draw(st.lists(st.integers(0, 15), unique=True, min_size=1, max_size=3)):
                points.append(
                    Point(area=area, address=address, data_type=data_type, bit=bit, **common)
                )
            continue
        extra: dict[str, object] = {}
        if data_type is DataType.STRING:
            extra["length"] = draw(st.integers(1, 4))
            extra["byte_order"] = draw(st.sampled_from(list(LAYOUTS.values())))[1]
        else:
            word, byte = draw(st.sampled_from(list(LAYOUTS.values())))
            extra |= {
                "word_order": word,
                "byte_order": byte,
                "scale": draw(st.sampled_from([1.0, 0.1, 0.01, 2.0, -1.5, 1e-7])),
                "offset": draw(
                    st.sampled_from([0.0, -40.0, 273.15, 1e20 if data_type.is_float else 1])
                ),
            }
        points.append(Point(area=area, address=address, data_type=data_type, **common, **extra))  # type: ignore[arg-type]
    return points


@settings(max_examples=60)
@given(points=maps())
def test_csv_export_import_round_trip(points: list[Point]) -> None:
    assert import_csv(export_csv(points)) == points


@settings(max_examples=60)
@given(points=maps())
def test_json_export_import_round_trip(points: list[Point]) -> None:
    assert import_json(export_json(points)) == points


# --- hostile or huge input: always a line problem, never a crash -------------------------------


def _problems(importer: object, text: str) -> list[tuple[int, str]]:
    with pytest.raises(ImportFormatError) as caught:
        importer(text)  # type: ignore[operator]
    return [(issue.line, issue.message) for issue in caught.value.errors]


def test_json_integer_beyond_the_digit_limit_is_a_problem_on_its_line() -> None:
    text = '{"points": [\n{"area": "coil", "address": 0, "data_type": "bool"},\n'
    text += '{"area": "coil", "address": ' + "9" * 5000 + ', "data_type": "bool"}\n]}'
    ((line, message),) = _problems(import_json, text)
    assert line == 3
    assert message.startswith("invalid JSON: Exceeds the limit")


def test_csv_integer_beyond_the_digit_limit_is_a_row_problem_with_a_short_quote() -> None:
    text = "area,address,data_type\ncoil," + "9" * 5000 + ",bool\n"
    ((line, message),) = _problems(import_csv, text)
    assert line == 2
    assert message.startswith("address: expected a whole number, got '9999")
    assert len(message) < 100


def test_json_nested_too_deeply_is_a_problem_not_a_crash() -> None:
    assert _problems(import_json, "[" * 100_000 + "]" * 100_000) == [
        (1, "invalid JSON: nested too deeply")
    ]


def test_json_number_too_large_for_a_float_is_a_row_problem() -> None:
    text = '[{"area": "holding_register", "address": 0, "data_type": "int16", "scale": 1'
    text += "0" * 400 + "}]"
    ((line, message),) = _problems(import_json, text)
    assert line == 1
    assert message.startswith("scale: expected a number")


@pytest.mark.parametrize("importer", [import_csv, import_json])
def test_a_text_over_the_size_limit_is_refused_before_parsing(importer: object) -> None:
    text = "area,address,data_type\n" + "coil,0,bool\n" * (MAX_IMPORT_CHARS // 12 + 1)
    ((line, message),) = _problems(importer, text)
    assert line == 1
    assert f"at most {MAX_IMPORT_CHARS:,}" in message


def test_twenty_thousand_exported_csv_rows_fit_the_size_limit() -> None:
    rows = [
        point(HR, index * 2, "float32", source=f"sensor.living_room_temperature_{index}")
        for index in range(20_000)
    ]
    text = export_csv(rows)
    assert len(text) <= MAX_IMPORT_CHARS
    assert len(import_csv(text)) == 20_000


class _CountingText(str):
    """A text that records how much of itself `count` scans."""

    __slots__ = ("scanned",)

    def count(self, sub: str, start: int | None = 0, end: int | None = None) -> int:  # type: ignore[override]
        first = start or 0
        last = len(self) if end is None else end
        self.scanned += last - first  # type: ignore[attr-defined]
        return super().count(sub, start, end)


def test_json_line_numbers_scan_the_text_once() -> None:
    """Line numbers of N objects cost one pass over the text, not N passes (was quadratic)."""
    rows = [point(HR, index, "int16", name=f"r{index}") for index in range(300)]
    text = _CountingText(export_json(rows))
    text.scanned = 0  # type: ignore[attr-defined]
    lines = _json_element_lines(text, len(rows))
    assert text.scanned <= len(text)  # type: ignore[attr-defined]
    plain = str(text)
    assert lines == [plain.count("\n", 0, plain.index(f'"r{i}"')) for i in range(300)]
