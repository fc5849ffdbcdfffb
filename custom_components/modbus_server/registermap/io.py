"""CSV and JSON import/export of a point list, for PLC/SCADA engineers and backups.

Both formats carry the same columns (see `COLUMNS`). Import is all-or-nothing: every bad
row is reported with its line number in one `ImportFormatError`, and a list is returned
only when every row parses *and* the points pass the full map validation (overlaps are
reported on the line of the later point, naming the line of the earlier one). Exported
`plc_address` and `register_count` are informative; on import they are checked against
`area`/`address`/`data_type` (and `register_count` gives a string its length).

Beside the point's columns a row carries the integration's row settings (`SETTING_COLUMNS`):
they are no part of a `Point`, so export takes them by point key and import hands their cells
to the caller's `SettingsReader`, whose problems count like any other field's.

Whatever the text holds, the import answers with rows or an `ImportFormatError`: texts longer
than `MAX_IMPORT_CHARS`, numbers beyond Python's digit limit and JSON nested too deeply are
problems on a line like any other, and the work is linear in the number of rows.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Final, NamedTuple

from ..modbus.area import Area
from .datatypes import ByteOrder, DataType, WordOrder, layout_name, orders_from_layout
from .plc import format_plc_address, parse_plc_address
from .points import Point, validate_point, validate_points

COLUMNS: Final = (
    "name",
    "area",
    "address",
    "plc_address",
    "data_type",
    "register_count",
    "bit",
    "scale",
    "offset",
    "order",
    "unit",
    "writable",
    "unavailable_value",
    "source",
    "description",
    "key",
)

SETTING_COLUMNS: Final = ("stale_after", "write_mode")
"""Row settings exported after `COLUMNS`: empty when unset; a file without them still imports."""

type Settings = Mapping[str, object]
"""A row's settings by column (a missing or None value is unset)."""

type SettingsReader = Callable[[Point, Mapping[str, object]], dict[str, object]]
"""(point, the row's cells) -> its settings; raises ValueError "column: problem" on a bad cell."""


class ImportedRow(NamedTuple):
    """One imported row: its point and its settings (only those the file gave)."""

    point: Point
    settings: dict[str, object]


_ALIASES: Final[dict[str, str]] = {
    "type": "data_type",
    "datatype": "data_type",
    "registers": "register_count",
    "count": "register_count",
    "length": "register_count",
    "layout": "order",
    "byte_order": "order",
    "word_byte_order": "order",
    "plc": "plc_address",
    "reference": "plc_address",
    "unit_of_measurement": "unit",
}

_AREA_ALIASES: Final[dict[str, Area]] = {
    "coils": Area.COIL,
    "discrete": Area.DISCRETE_INPUT,
    "discrete_inputs": Area.DISCRETE_INPUT,
    "input": Area.INPUT_REGISTER,
    "input_registers": Area.INPUT_REGISTER,
    "holding": Area.HOLDING_REGISTER,
    "holding_registers": Area.HOLDING_REGISTER,
}

_TRUE: Final = frozenset({"1", "true", "yes", "y", "x", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "n", "off"})

JSON_FORMAT: Final = "modbus_server.registermap"
JSON_VERSION: Final = 1

MAX_IMPORT_CHARS: Final = 4_000_000
"""Longest text an import takes: 20 000 CSV rows of an export are about 1.5 million."""

_SHOWN_CHARS: Final = 40
_DIGITS = re.compile(r"\d+")


class ImportIssue(NamedTuple):
    """One problem found while importing: 1-based line number and message."""

    line: int
    message: str


class ImportFormatError(ValueError):
    """The import was rejected; `errors` lists every bad row as (line, message)."""

    def __init__(self, errors: Iterable[ImportIssue | tuple[int, str]]) -> None:
        self.errors: list[ImportIssue] = sorted(ImportIssue(*error) for error in errors)
        super().__init__(
            f"{len(self.errors)} problem(s) in the import:\n"
            + "\n".join(f"  line {line}: {message}" for line, message in self.errors)
        )


# -- export ----------------------------------------------------------------------------


def _number_text(value: float) -> str:
    """Shortest text that reads back to the same float; '1' rather than '1.0'."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)  # nan, inf, -inf
    text = repr(float(value))
    return text.removesuffix(".0")


def _row(point: Point) -> dict[str, object]:
    """A point as a JSON-ready mapping with the export columns."""
    unavailable: object = point.unavailable_value
    if isinstance(unavailable, float) and not math.isfinite(unavailable):
        unavailable = str(unavailable)
    return {
        "name": point.name,
        "area": str(point.area),
        "address": point.address,
        "plc_address": format_plc_address(point.area, point.address),
        "data_type": str(point.data_type),
        "register_count": point.register_count,
        "bit": point.bit,
        "scale": float(point.scale),
        "offset": float(point.offset),
        "order": layout_name(point.word_order, point.byte_order),
        "unit": point.unit,
        "writable": point.writable,
        "unavailable_value": unavailable,
        "source": point.source,
        "description": point.description,
        "key": point.key,
    }


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _with_settings(point: Point, settings: Mapping[str, Settings] | None) -> dict[str, object]:
    """The point's columns followed by its row's settings (None when unset)."""
    own = (settings or {}).get(point.key) or {}
    return {**_row(point), **{column: own.get(column) for column in SETTING_COLUMNS}}


def export_csv(points: Iterable[Point], settings: Mapping[str, Settings] | None = None) -> str:
    """One row per point under a header of `COLUMNS` and `SETTING_COLUMNS` (RFC 4180 quoting).

    `settings` maps a point's key to its row's settings (absent: the columns stay empty).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = (*COLUMNS, *SETTING_COLUMNS)
    writer.writerow(columns)
    for point in points:
        row = _with_settings(point, settings)
        writer.writerow([_cell(row[column]) for column in columns])
    return buffer.getvalue()


def export_json(points: Iterable[Point], settings: Mapping[str, Settings] | None = None) -> str:
    """A JSON document {"format", "version", "points": [one object per point]}."""
    document = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "points": [_with_settings(point, settings) for point in points],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# -- field parsers (accept CSV text and JSON values alike) -------------------------------


class _FieldProblem(ValueError):
    """A single field could not be parsed; the message names the column."""


def _shown(value: object) -> str:
    """A value as a message quotes it: repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _int(value: object, column: str) -> int:
    if isinstance(value, bool):
        raise _FieldProblem(f"{column}: expected a whole number, got {_shown(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise _FieldProblem(f"{column}: expected a whole number, got {_shown(value)}") from None


def _float(value: object, column: str) -> float:
    if isinstance(value, bool):
        raise _FieldProblem(f"{column}: expected a number, got {_shown(value)}")
    try:
        if isinstance(value, int | float):
            return float(value)
        return float(str(value).strip())
    except ValueError, OverflowError:
        raise _FieldProblem(f"{column}: expected a number, got {_shown(value)}") from None


def _bool(value: object, column: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _FieldProblem(f"{column}: expected true or false, got {_shown(value)}")


def _area(value: object) -> Area:
    text = _text(value).lower().replace(" ", "_").replace("-", "_")
    try:
        return Area(text)
    except ValueError:
        pass
    area = _AREA_ALIASES.get(text)
    if area is None:
        raise _FieldProblem(f"area: unknown area {_shown(value)}; use one of {', '.join(Area)}")
    return area


def _data_type(value: object) -> DataType:
    text = _text(value).lower()
    try:
        return DataType(text)
    except ValueError:
        raise _FieldProblem(
            f"data_type: unknown data type {_shown(value)}; use one of {', '.join(DataType)}"
        ) from None


def _unavailable(value: object, data_type: DataType) -> float | str | None:
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if data_type is DataType.STRING:
        return str(value)
    if data_type.is_bit:
        return 1 if _bool(value, "unavailable_value") else 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return _float(value, "unavailable_value")


def _keep_settings(point: Point, row: Mapping[str, object]) -> dict[str, object]:
    """The default `SettingsReader`: the given setting cells as they are."""
    return {column: row[column] for column in SETTING_COLUMNS if not _blank(row.get(column))}


def _imported_row(row: Mapping[str, object], read_settings: SettingsReader) -> ImportedRow:
    """A row's point and settings; _FieldProblem lists every bad column of the row."""
    point = _point_from_row(row)
    try:
        settings = read_settings(point, row)
    except ValueError as err:
        raise _FieldProblem(str(err)) from None
    return ImportedRow(point, settings)


def _point_from_row(row: Mapping[str, object]) -> Point:
    """Build a point from one row; _FieldProblem lists every bad column of the row."""
    problems: list[str] = []

    def parse[T](column: str, parser: Callable[[object], T], default: T) -> T:
        raw = row.get(column)
        if _blank(raw):
            return default
        try:
            return parser(raw)
        except _FieldProblem as err:
            problems.append(str(err))
            return default

    area = parse("area", _area, None)
    address = parse("address", lambda v: _int(v, "address"), None)
    reference = _text(row.get("plc_address"))
    if reference:
        try:
            plc_area, plc_address = parse_plc_address(reference)
        except ValueError as err:
            problems.append(f"plc_address: {err}")
        else:
            if area is None:
                area = plc_area
            if address is None:
                address = plc_address
            if (area, address) != (plc_area, plc_address):
                problems.append(
                    f"plc_address: {reference} is {plc_area} address {plc_address}, but the "
                    f"row says {area} address {address}"
                )
    if not reference:
        if area is None and _blank(row.get("area")):
            problems.append("area: missing (give area and address, or plc_address)")
        if address is None and _blank(row.get("address")):
            problems.append("address: missing (give area and address, or plc_address)")

    data_type = parse("data_type", _data_type, None)
    if data_type is None and _blank(row.get("data_type")):
        problems.append("data_type: missing")
    count = parse("register_count", lambda v: _int(v, "register_count"), None)
    length: int | None = None
    if data_type is DataType.STRING:
        length = count
        if count is None:
            problems.append("register_count: strings need their length in registers")
    elif data_type is not None and count is not None:
        expected = data_type.fixed_register_count
        if count != expected:
            problems.append(f"register_count: {data_type} uses {expected}, not {count}")
    bit = parse("bit", lambda v: _int(v, "bit"), None)
    scale = parse("scale", lambda v: _float(v, "scale"), 1.0)
    offset = parse("offset", lambda v: _float(v, "offset"), 0.0)
    orders = parse("order", _orders, None)
    writable = parse("writable", lambda v: _bool(v, "writable"), False)
    unavailable = None
    if data_type is not None:
        unavailable = parse("unavailable_value", lambda v: _unavailable(v, data_type), None)

    if problems or area is None or address is None or data_type is None:
        raise _FieldProblem("; ".join(problems))
    kwargs: dict[str, object] = {}
    if orders is not None:
        kwargs["word_order"], kwargs["byte_order"] = orders
    point = Point(
        area=area,
        address=address,
        data_type=data_type,
        name=_text(row.get("name")),
        description=_text(row.get("description")),
        scale=scale,
        offset=offset,
        bit=bit,
        length=length,
        writable=writable,
        unavailable_value=unavailable,
        unit=_text(row.get("unit")) or None,
        source=_text(row.get("source")) or None,
        key=_text(row.get("key")),
        **kwargs,  # type: ignore[arg-type]
    )
    errors = validate_point(point)
    if errors:
        raise _FieldProblem("; ".join(f"{e.field}: {e.message}" for e in errors))
    return point


def _orders(value: object) -> tuple[WordOrder, ByteOrder]:
    try:
        return orders_from_layout(_text(value))
    except ValueError as err:
        raise _FieldProblem(f"order: {err}") from None


def _build(
    rows: Iterable[tuple[int, Mapping[str, object]]], read_settings: SettingsReader
) -> list[ImportedRow]:
    """Rows (line, mapping) -> imported rows, or ImportFormatError with every problem."""
    issues: list[ImportIssue] = []
    imported: list[ImportedRow] = []
    lines: list[int] = []
    for line, row in rows:
        try:
            imported.append(_imported_row(row, read_settings))
            lines.append(line)
        except _FieldProblem as err:
            issues.append(ImportIssue(line, str(err)))
        except (ValueError, TypeError, OverflowError) as err:
            # A value no parser above expected: still a problem of this row, not a crash.
            issues.append(ImportIssue(line, f"unreadable row: {err}"))
    if issues:
        raise ImportFormatError(issues)
    for error in validate_points([row.point for row in imported]):
        line = lines[error.index] if error.index is not None else 0
        message = f"{error.field}: {error.message}"
        if error.related is not None:
            message += f" (line {lines[error.related]})"
        issues.append(ImportIssue(line, message))
    if issues:
        raise ImportFormatError(issues)
    return imported


# -- import ----------------------------------------------------------------------------


def _check_size(text: str) -> None:
    """Refuse a text longer than MAX_IMPORT_CHARS before any parsing."""
    if len(text) > MAX_IMPORT_CHARS:
        raise ImportFormatError(
            [
                ImportIssue(
                    1,
                    f"the text has {len(text):,} characters; an import takes at most "
                    f"{MAX_IMPORT_CHARS:,} (about 50,000 CSV rows): split it",
                )
            ]
        )


def _known(column: str) -> bool:
    return column in COLUMNS or column in SETTING_COLUMNS


def _normalise_header(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return _ALIASES.get(key, key)


def import_csv(text: str) -> list[Point]:
    """Parse CSV (comma or semicolon separated, header row required) into points.

    Blank rows are skipped; unknown column names are errors (typos would otherwise be
    silently ignored). Raises ImportFormatError listing every bad row by line number.
    """
    return [row.point for row in import_csv_rows(text)]


def import_csv_rows(text: str, read_settings: SettingsReader = _keep_settings) -> list[ImportedRow]:
    """`import_csv` with each row's settings, read by `read_settings`."""
    _check_size(text)
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError([ImportIssue(1, "the file is empty")]) from None
    except csv.Error as err:
        raise ImportFormatError([ImportIssue(1, f"unreadable CSV: {err}")]) from None
    columns = [_normalise_header(name) for name in header]
    unknown = [name for name, col in zip(header, columns, strict=True) if col and not _known(col)]
    problems: list[ImportIssue] = []
    if unknown:
        problems.append(
            ImportIssue(
                1,
                f"unknown column(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join((*COLUMNS, *SETTING_COLUMNS))}",
            )
        )
    if "data_type" not in columns:
        problems.append(ImportIssue(1, "the header needs a data_type column"))
    if "plc_address" not in columns and not {"area", "address"} <= set(columns):
        problems.append(ImportIssue(1, "the header needs area and address, or plc_address"))
    if problems:
        raise ImportFormatError(problems)

    rows: list[tuple[int, Mapping[str, object]]] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                problems.append(ImportIssue(line, f"{len(cells)} cells but {len(columns)} columns"))
                continue
            rows.append((line, dict(zip(columns, cells, strict=False))))
    except csv.Error as err:
        problems.append(ImportIssue(reader.line_num, f"unreadable CSV: {err}"))
    try:
        imported = _build(rows, read_settings)
    except ImportFormatError as err:
        raise ImportFormatError([*problems, *err.errors]) from None
    if problems:
        raise ImportFormatError(problems)
    return imported


def import_json(text: str) -> list[Point]:
    """Parse an export_json document (or a bare list of point objects) into points.

    Error line numbers are the lines where each point's object starts.
    """
    return [row.point for row in import_json_rows(text)]


def import_json_rows(
    text: str, read_settings: SettingsReader = _keep_settings
) -> list[ImportedRow]:
    """`import_json` with each row's settings, read by `read_settings`."""
    _check_size(text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ImportFormatError([ImportIssue(err.lineno, f"invalid JSON: {err.msg}")]) from None
    except ValueError as err:  # an integer beyond Python's digit limit
        line = _long_integer_line(text)
        raise ImportFormatError([ImportIssue(line, f"invalid JSON: {err}")]) from None
    except RecursionError:
        raise ImportFormatError([ImportIssue(1, "invalid JSON: nested too deeply")]) from None
    items: object = document
    if isinstance(document, dict):
        if document.get("format", JSON_FORMAT) != JSON_FORMAT:
            raise ImportFormatError([ImportIssue(1, f"not a {JSON_FORMAT} document")])
        if document.get("version", JSON_VERSION) != JSON_VERSION:
            raise ImportFormatError(
                [ImportIssue(1, f"unsupported version {document.get('version')!r}")]
            )
        items = document.get("points")
    if not isinstance(items, list):
        raise ImportFormatError([ImportIssue(1, 'expected a "points" list')])
    lines = _json_element_lines(text, len(items))
    rows: list[tuple[int, Mapping[str, object]]] = []
    problems: list[ImportIssue] = []
    for line, item in zip(lines, items, strict=True):
        if not isinstance(item, dict):
            problems.append(ImportIssue(line, "each point must be an object"))
            continue
        unknown = [key for key in item if not _known(_normalise_header(str(key)))]
        if unknown:
            problems.append(ImportIssue(line, f"unknown field(s) {', '.join(map(repr, unknown))}"))
            continue
        rows.append((line, {_normalise_header(str(k)): v for k, v in item.items()}))
    try:
        imported = _build(rows, read_settings)
    except ImportFormatError as err:
        raise ImportFormatError([*problems, *err.errors]) from None
    if problems:
        raise ImportFormatError(problems)
    return imported


def _long_integer_line(text: str) -> int:
    """Line of the first run of digits beyond Python's int conversion limit (else 1)."""
    limit = sys.get_int_max_str_digits()
    for match in _DIGITS.finditer(text):
        if len(match.group()) > limit > 0:
            return text.count("\n", 0, match.start()) + 1
    return 1


def _json_element_lines(text: str, count: int) -> list[int]:
    """Line where each element of the points array starts (falls back to 1, 2, 3 ...)."""
    try:
        offsets = _json_points_offsets(text)
    except ValueError, IndexError:
        offsets = []
    if len(offsets) != count:
        return list(range(1, count + 1))
    # Count each stretch once (offsets ascend): linear, not rows x text length.
    lines: list[int] = []
    line, previous = 1, 0
    for offset in offsets:
        line += text.count("\n", previous, offset)
        lines.append(line)
        previous = offset
    return lines


def _json_points_offsets(text: str) -> list[int]:
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        while text[i] in " \t\r\n":
            i += 1
        return i

    i = skip(0)
    if text[i] == "{":
        i = skip(i + 1)
        while text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = skip(skip(i) + 1)  # past ':'
            if key == "points" and text[i] == "[":
                break
            _, i = decoder.raw_decode(text, i)
            i = skip(i)
            if text[i] == ",":
                i = skip(i + 1)
        else:
            return []
    if text[i] != "[":
        return []
    offsets: list[int] = []
    i = skip(i + 1)
    while text[i] != "]":
        offsets.append(i)
        _, i = decoder.raw_decode(text, i)
        i = skip(i)
        if text[i] == ",":
            i = skip(i + 1)
    return offsets
