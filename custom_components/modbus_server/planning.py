"""The rules of editing a device's table, shared by the flows, the table view and import.

The flows (`flows/`) only ask and show; what a row may be, where a new one goes and how a
problem is worded in the user's terms is decided here, so the table view's inline edit
(`panel/editing.py`) and the flows give the same answer in the same words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.core import split_entity_id

from .bindings import DomainBinding, get_binding
from .const import (
    CONF_ADDRESS,
    CONF_ADVANCED,
    CONF_BIT,
    CONF_BYTE_ORDER,
    CONF_DATA_TYPE,
    CONF_ENTITY_ID,
    CONF_LENGTH,
    CONF_OFFSET,
    CONF_SCALE,
    CONF_STALE_AFTER,
    CONF_UNAVAILABLE_VALUE,
    CONF_UNIT,
    CONF_WORD_ORDER,
    CONF_WRITABLE,
    CONF_WRITE_MODE,
    WRITE_MODE_DEFAULT,
    WRITE_MODES,
)
from .helpers import point_title, split_source
from .modbus.area import Area
from .registermap import (
    DataType,
    FieldError,
    ImportedRow,
    MapValidationError,
    Point,
    RegisterMap,
    import_csv_rows,
    import_json_rows,
    validate_point,
)
from .table_store import ROW_ID

if TYPE_CHECKING:
    from homeassistant.core import State

ADVANCED_FIELDS = (CONF_WORD_ORDER, CONF_BYTE_ORDER, CONF_BIT, CONF_LENGTH, CONF_UNAVAILABLE_VALUE)
"""Row fields shown in the row form's collapsed advanced section (their errors are shown there)."""

POINT_FIELDS = (
    CONF_ADDRESS,
    CONF_DATA_TYPE,
    CONF_SCALE,
    CONF_OFFSET,
    CONF_WRITABLE,
    CONF_UNIT,
)
"""Row fields shown in the row form itself."""

AREA_NAMES = {
    Area.COIL: "coil",
    Area.DISCRETE_INPUT: "discrete input",
    Area.INPUT_REGISTER: "input register",
    Area.HOLDING_REGISTER: "holding register",
}
"""Area names in messages and the row form's description."""

MAX_STALE_AFTER = 86400
"""Longest row staleness override in seconds (the row form's box)."""

AREA_ORDER = (Area.COIL, Area.DISCRETE_INPUT, Area.INPUT_REGISTER, Area.HOLDING_REGISTER)
"""Areas as PLC references number them: 0xxxx, 1xxxx, 3xxxx, 4xxxx."""


# --- one row ---------------------------------------------------------------------------------


def check_row(point: Point, others: list[Point]) -> tuple[dict[str, str], dict[str, str]]:
    """(form error key per field, placeholders) of a new or changed row; empty: storable.

    The row is checked on its own (`validate_point`), then against the other rows of its
    device (`RegisterMap`); an overlap names the row it hits and the next free address.
    Errors of advanced fields are keyed on the advanced section (see `field_errors`).
    """
    if owned_text(point):
        return {CONF_DATA_TYPE: "owned_string"}, {}
    problems = validate_point(point)
    if not problems and point.writable and (refusal := _unwritable(point)) is not None:
        problems = [refusal]
    if not problems:
        try:
            RegisterMap([*others, point])
        except MapValidationError as err:
            problems = [explain_overlap(error, others, point) for error in err.errors]
    return field_errors(problems)


def owned_text(point: Point) -> bool:
    """An owned holding register becomes a number entity: text does not fit."""
    return (
        point.source is None
        and point.area is Area.HOLDING_REGISTER
        and point.data_type is DataType.STRING
    )


def _unwritable(point: Point) -> FieldError | None:
    """Writes to the row's source cannot become a service call (the form hides the field)."""
    entity_id, attribute = split_source(point.source)
    if entity_id is None:
        return None
    binding = get_binding(entity_id.partition(".")[0])
    if binding is not None and binding.writable(point.area, attribute):
        return None
    return FieldError(CONF_WRITABLE, f"Writes to {entity_id} cannot become a service call.")


def field_errors(errors: list[Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Map register map FieldErrors onto form fields (advanced ones onto the section)."""
    form_errors: dict[str, str] = {}
    placeholders: dict[str, str] = {}
    for error in errors:
        field = error.field if error.field in (*POINT_FIELDS, *ADVANCED_FIELDS) else "base"
        target = CONF_ADVANCED if field in ADVANCED_FIELDS else field
        if target in form_errors:
            continue
        form_errors[target] = f"invalid_{field}"
        placeholders[f"{field}_error"] = error.message
    return form_errors, placeholders


def explain_overlap(error: FieldError, existing: list[Point], point: Point) -> FieldError:
    """An overlap in the user's words: the row it hits (by its title) and a free address.

    The register map names both points by their internal labels, and which one it reports
    depends on their order; `existing` plus `point` (last) is the list it validated.
    """
    if error.field != CONF_ADDRESS or error.related is None:
        return error
    new_index = len(existing)
    other_index = error.related if error.index == new_index else error.index
    assert other_index is not None
    free = RegisterMap(existing).next_free_address(point.area, point.register_count)
    return FieldError(
        CONF_ADDRESS,
        f"Overlaps the row {point_title(existing[other_index])}. "
        f"The next free address for this type is {free}.",
    )


def pick_area(
    binding: DomainBinding, areas: list[Area], prefer_writable: bool, attribute: str | None = None
) -> Area:
    """A writable area when asked for and possible, else a read-only (input) area."""
    if prefer_writable:
        for area in areas:
            if binding.writable(area, attribute):
                return area
    for area in areas:
        if not area.is_writable:
            return area
    return areas[0]


# --- many rows -------------------------------------------------------------------------------


def plan_bulk(
    existing: list[Point],
    entity_ids: list[str],
    prefer_writable: bool,
    *,
    state_of: Callable[[str], State | None],
    safety_relevant: Callable[[str], bool],
) -> tuple[list[Point], list[str]]:
    """(points, unsupported entity ids): one point per entity at the next free address.

    The existing table is compiled once; each area keeps a cursor past its last new row,
    so planning is linear in the number of entities. Locks, alarm panels and door-like
    covers (`safety_relevant`) go to a read-only area even when writable areas are preferred.
    `state_of` gives the state a binding refines its default data type with.
    """
    compiled = RegisterMap(existing)
    cursors: dict[Area, int] = {}
    new: list[Point] = []
    unsupported: list[str] = []
    for entity_id in entity_ids:
        binding = get_binding(split_entity_id(entity_id)[0])
        areas = binding.areas(None) if binding is not None else []
        if binding is None or not areas:
            unsupported.append(entity_id)
            continue
        safety = safety_relevant(entity_id)
        area = pick_area(binding, areas, prefer_writable and not safety)
        data_type = binding.default_data_type(area, None, state_of(entity_id))
        count = data_type.fixed_register_count or 1
        address = compiled.next_free_address(area, count, cursors.get(area, 0))
        cursors[area] = address + count
        new.append(
            Point(
                area=area,
                address=address,
                data_type=data_type,
                writable=binding.writable(area, None) and not safety,
                source=entity_id,
            )
        )
    return new, unsupported


def read_table(text: str) -> list[ImportedRow]:
    """Rows (point and settings) of a pasted CSV or JSON text (ImportFormatError lists problems).

    Pure and thread-safe: the import flow runs it in the executor.
    """
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        return import_json_rows(stripped, read_row_settings)
    return import_csv_rows(stripped, read_row_settings)


def read_row_settings(point: Point, cells: Mapping[str, object]) -> dict[str, Any]:
    """A row's `stale_after` and `write_mode` from an import, by the row form's rules.

    Empty cells leave a setting unset. `stale_after`: seconds from 0 (never stale) to
    `MAX_STALE_AFTER`, only for a row with a source (an owned row has nothing to go stale);
    `write_mode`: one of `WRITE_MODES`. ValueError names the column and the value.
    """
    settings: dict[str, Any] = {}
    problems: list[str] = []
    stale = cells.get(CONF_STALE_AFTER)
    if stale is not None and str(stale).strip():
        seconds = _seconds(stale)
        if seconds is None:
            problems.append(
                f"{CONF_STALE_AFTER}: expected seconds from 0 to {MAX_STALE_AFTER} "
                f"(empty: the device's), got {stale!r}"
            )
        elif point.source is None:
            problems.append(f"{CONF_STALE_AFTER}: an owned row has no source to go stale")
        else:
            settings[CONF_STALE_AFTER] = seconds
    mode = cells.get(CONF_WRITE_MODE)
    if mode is not None and str(mode).strip():
        text = str(mode).strip().lower()
        if text in WRITE_MODES:
            settings[CONF_WRITE_MODE] = text
        else:
            problems.append(
                f"{CONF_WRITE_MODE}: expected one of {', '.join(WRITE_MODES)}, got {mode!r}"
            )
    if problems:
        raise ValueError("; ".join(problems))
    return settings


def _seconds(value: object) -> float | None:
    """A stale_after cell as seconds within the row form's range (None: not such a number)."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value) if isinstance(value, int | float) else float(str(value).strip())
    except ValueError, OverflowError:
        return None
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_STALE_AFTER else None


def row_settings(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Row id -> the settings an export writes beside its point (unset ones left out).

    The default write mode is written as empty (it is what an empty cell imports as), and an
    owned row has no staleness to export.
    """
    settings: dict[str, dict[str, Any]] = {}
    for row in rows:
        own: dict[str, Any] = {}
        if row.get(CONF_STALE_AFTER) not in (None, "") and row.get(CONF_ENTITY_ID):
            own[CONF_STALE_AFTER] = float(row[CONF_STALE_AFTER])
        if row.get(CONF_WRITE_MODE) not in (None, "", WRITE_MODE_DEFAULT):
            own[CONF_WRITE_MODE] = row[CONF_WRITE_MODE]
        settings[str(row[ROW_ID])] = own
    return settings


def import_problems(points: list[Point], existing: list[Point]) -> list[str]:
    """Problems of imported rows as lines (empty: all can be added to `existing`).

    First each row against its source's binding (domain, area, writes), then the whole
    table; rows are named by their number in the import and their title.
    """
    if not points:
        return ["no rows"]
    problems: list[str] = []
    for number, point in enumerate(points, start=1):
        where = f"row {number} ({point_title(point)})"
        entity_id, attribute = split_source(point.source)
        if entity_id is None:
            if owned_text(point):
                problems.append(f"{where}: an owned holding register cannot be text")
            continue
        binding = get_binding(entity_id.partition(".")[0])
        if binding is None:
            problems.append(f"{where}: {entity_id}: domain not supported")
        elif point.area not in binding.areas(attribute):
            area = AREA_NAMES[point.area]
            problems.append(f"{where}: {entity_id} cannot be served as {area}")
        elif point.writable and not binding.writable(point.area, attribute):
            problems.append(f"{where}: writes to {entity_id} cannot become a service call")
    if problems:
        return problems
    try:
        RegisterMap([*existing, *points])
    except MapValidationError as err:
        return [import_problem(error, existing, points) for error in err.errors]
    return []


def import_problem(error: FieldError, existing: list[Point], points: list[Point]) -> str:
    """A register map error of an import, naming rows by number and title.

    The map was validated as `existing` followed by the imported `points`.
    """

    def who(index: int | None) -> str:
        assert index is not None
        if index < len(existing):
            return f"the existing row {point_title(existing[index])}"
        number = index - len(existing)
        return f"row {number + 1} ({point_title(points[number])})"

    if error.field == CONF_ADDRESS and error.related is not None:
        return f"{who(error.index)}: overlaps {who(error.related)}"
    return f"{who(error.index)}: {error.field}: {error.message}"
