"""Checking an inline edit of a row: the rules and the messages of the row flow.

The rules are the row flow's own (`planning.check_row`): a row is checked on its own, then
against the other rows of its device, and an overlap names the row it hits and the next free
address. The form error keys of `strings.json` (config_subentries.point.error) are
translated here, so the panel shows the same words as the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .. import planning
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
from ..helpers import data_from_point, point_from_data
from ..registermap import Point

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
    form_errors, placeholders = planning.check_row(point, others)
    # The form puts advanced fields under one section; the table shows each in its cell.
    errors = {
        (key.removeprefix("invalid_") if key.startswith("invalid_") else field): key
        for field, key in form_errors.items()
    }
    return errors, placeholders


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
