"""Checking an inline edit of a row: the rules and the messages of the row flow.

The flow's rules are reused as they are (`config_flow._explain_overlap`, `_field_errors`,
`_owned_text`): a row is checked on its own (`validate_point`), then against the other rows
of its device (`RegisterMap`), and an overlap names the row it hits and the next free
address. The form error keys of `strings.json` (config_subentries.point.error) are
translated here, so the panel shows the same words as the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from ..bindings import get_binding
from ..config_flow import _explain_overlap, _field_errors, _owned_text
from ..const import (
    CONF_ADDRESS,
    CONF_BIT,
    CONF_BYTE_ORDER,
    CONF_DATA_TYPE,
    CONF_DESCRIPTION,
    CONF_LENGTH,
    CONF_OFFSET,
    CONF_SCALE,
    CONF_UNAVAILABLE_VALUE,
    CONF_UNIT,
    CONF_WORD_ORDER,
    CONF_WRITABLE,
    DOMAIN,
)
from ..helpers import data_from_point, point_from_data, split_source
from ..registermap import FieldError, MapValidationError, Point, RegisterMap, validate_point

EDITABLE: Final = (
    "name",
    CONF_DESCRIPTION,
    CONF_ADDRESS,
    CONF_DATA_TYPE,
    CONF_SCALE,
    CONF_OFFSET,
    CONF_UNIT,
    CONF_WRITABLE,
    CONF_WORD_ORDER,
    CONF_BYTE_ORDER,
    CONF_BIT,
    CONF_LENGTH,
    CONF_UNAVAILABLE_VALUE,
)
"""Fields the table view edits in place; the source and area stay with the row flow."""

ERROR_PREFIX: Final = f"component.{DOMAIN}.config_subentries.point.error."


def edited_point(point: Point, changes: Mapping[str, Any]) -> Point:
    """The row with the changes applied (same key, source and area)."""
    data = data_from_point(point)
    data.update({field: value for field, value in changes.items() if field in EDITABLE})
    if data.get(CONF_UNIT) == "":
        data[CONF_UNIT] = None
    return point_from_data(data, point.key)


def check_row(point: Point, others: list[Point]) -> tuple[dict[str, str], dict[str, str]]:
    """(error key per field, placeholders) of a changed row; empty when it can be stored."""
    if _owned_text(point):
        return {CONF_DATA_TYPE: "owned_string"}, {}
    problems = validate_point(point)
    if not problems and point.writable and (refusal := _unwritable(point)) is not None:
        problems = [refusal]
    if not problems:
        try:
            RegisterMap([*others, point])
        except MapValidationError as err:
            problems = [_explain_overlap(error, others, point) for error in err.errors]
    form_errors, placeholders = _field_errors(problems)
    # The form puts advanced fields under one section; the table shows each in its cell.
    errors = {
        (key.removeprefix("invalid_") if key.startswith("invalid_") else field): key
        for field, key in form_errors.items()
    }
    return errors, placeholders


def _unwritable(point: Point) -> FieldError | None:
    """Writes to the row's source cannot become a service call (the form hides the field)."""
    entity_id, attribute = split_source(point.source)
    if entity_id is None:
        return None
    binding = get_binding(entity_id.partition(".")[0])
    if binding is not None and binding.writable(point.area, attribute):
        return None
    return FieldError(CONF_WRITABLE, f"Writes to {entity_id} cannot become a service call.")


async def async_messages(
    hass: HomeAssistant, language: str, errors: Mapping[str, str], placeholders: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    """Per field: the error key and its translated message (placeholders filled in)."""
    translations = await async_get_translations(hass, language, "config_subentries", [DOMAIN])
    result: dict[str, dict[str, str]] = {}
    for field, key in errors.items():
        message = translations.get(ERROR_PREFIX + key, key)
        for name, value in placeholders.items():
            message = message.replace(f"{{{name}}}", value)
        result[field] = {"key": key, "message": message}
    return result
