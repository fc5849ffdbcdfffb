"""The device flow: add a Modbus device to a server, change its settings, change or delete rows.

Changing a row runs the row flow's steps (`RowFlow`), pre-filled with the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import probatio
from homeassistant.config_entries import SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)

from ..const import (
    CONF_IDENTIFICATION,
    CONF_READ_ONLY,
    CONF_ROLES,
    CONF_STALE_AFTER,
    CONF_UNIT_IDS,
    CONF_UNMAPPED,
    DEFAULT_UNMAPPED,
    SUBENTRY_DEVICE,
    TRANSPORT_TLS,
)
from ..device_rules import (
    IDENTIFICATION_FIELDS,
    device_data,
    format_roles,
    format_unit_ids,
    parse_roles,
    parse_unit_ids,
    unit_conflict,
)
from ..helpers import identification_too_long, point_title
from ..modbus.device_id import MAX_OBJECT_LENGTH
from ..planning import AREA_ORDER
from ..table_store import ROW_ID
from ..transports import transport_of
from .row import RowFlow
from .selectors import box, suggested, unmapped_selector

CONF_ROW = "row"
CONF_ROWS = "rows"
CONF_ANSWER_0 = "answer_0"
CONF_ANSWER_255 = "answer_255"
"""Device form: also answer unit id 0 / 255 (the Modbus TCP conventions, see the README)."""


def device_schema(defaults: Mapping[str, Any], *, tls: bool = False) -> probatio.Schema:
    """The device form: name, unit ids, policies and the FC43 identification overrides.

    `tls`: the server speaks Modbus/TCP Security, so the form also has the roles' rights.
    """
    units = defaults.get(CONF_UNIT_IDS)
    listed = [] if units is None else [u for u in units if u not in (0, 255)]
    identification = defaults.get(CONF_IDENTIFICATION) or {}
    stale_after = defaults.get(CONF_STALE_AFTER)
    return probatio.Schema(
        {
            probatio.Required(CONF_NAME, default=defaults.get(CONF_NAME, "")): str,
            probatio.Optional(
                CONF_UNIT_IDS, description=suggested(format_unit_ids(listed))
            ): TextSelector(),
            probatio.Required(
                CONF_ANSWER_0, default=bool(units is not None and 0 in units)
            ): BooleanSelector(),
            probatio.Required(
                CONF_ANSWER_255, default=bool(units is not None and 255 in units)
            ): BooleanSelector(),
            probatio.Required(
                CONF_UNMAPPED, default=defaults.get(CONF_UNMAPPED, DEFAULT_UNMAPPED)
            ): unmapped_selector(),
            probatio.Required(
                CONF_READ_ONLY, default=bool(defaults.get(CONF_READ_ONLY, False))
            ): BooleanSelector(),
            probatio.Optional(CONF_STALE_AFTER, description=suggested(stale_after)): box(
                min=0, max=86400, step=1, unit_of_measurement="s"
            ),
            **(
                {
                    probatio.Optional(
                        CONF_ROLES,
                        description=suggested(roles_text(defaults.get(CONF_ROLES))),
                    ): TextSelector(TextSelectorConfig(multiline=True))
                }
                if tls
                else {}
            ),
            probatio.Required(CONF_IDENTIFICATION): section(
                probatio.Schema(
                    {
                        probatio.Optional(
                            field, description=suggested(identification.get(field))
                        ): str
                        for field in IDENTIFICATION_FIELDS
                    }
                ),
                {"collapsed": not identification},
            ),
        }
    )


def roles_text(roles: Mapping[str, str] | str | None) -> str:
    """The roles field's text: stored roles one a line, or what was typed (a refused form)."""
    return roles if isinstance(roles, str) else format_roles(roles or {})


class DeviceSubentryFlow(RowFlow):
    """A Modbus device of the server: add it, change its settings, change or delete rows."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new device (its table starts empty)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        defaults: Mapping[str, Any] = {
            CONF_NAME: self._unused_name(),
            CONF_UNIT_IDS: [1 + len(self._get_entry().get_subentries_of_type(SUBENTRY_DEVICE))],
        }
        if user_input is not None:
            data, errors, placeholders = self._validate_device(user_input, None)
            if not errors:
                return self.async_create_entry(title=data[CONF_NAME], data=data)
            defaults = {**data, CONF_ROLES: user_input.get(CONF_ROLES, data[CONF_ROLES])}
        return self.async_show_form(
            step_id="user",
            data_schema=device_schema(defaults, tls=self._tls()),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """What to change: the device's settings, one of its rows, or delete rows."""
        await self._async_use_device(self._get_reconfigure_subentry().subentry_id)
        return self.async_show_menu(
            step_id="reconfigure", menu_options=["settings", "change_row", "delete_rows"]
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the device's settings; applied live, connections stay open."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        defaults: Mapping[str, Any] = subentry.data
        if user_input is not None:
            data, errors, placeholders = self._validate_device(user_input, subentry.subentry_id)
            if not errors:
                return self.async_update_and_abort(
                    self._get_entry(), subentry, title=data[CONF_NAME], data=data
                )
            defaults = {**data, CONF_ROLES: user_input.get(CONF_ROLES, data[CONF_ROLES])}
        return self.async_show_form(
            step_id="settings",
            data_schema=device_schema(defaults, tls=self._tls()),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _row_options(self) -> list[SelectOptionDict]:
        """The device's rows by PLC address, labelled as their titles."""
        points = sorted(
            self._existing(), key=lambda p: (AREA_ORDER.index(p.area), p.address, p.bit or 0)
        )
        return [SelectOptionDict(value=point.key, label=point_title(point)) for point in points]

    async def async_step_change_row(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the row to change; then the steps of adding a row, pre-filled."""
        if user_input is not None:
            return await self._async_edit_row(user_input[CONF_ROW])
        options = self._row_options()
        if not options:
            return self.async_abort(reason="no_rows")
        return self.async_show_form(
            step_id="change_row",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_ROW): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
                    )
                }
            ),
        )

    async def async_step_delete_rows(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick rows to delete; all of them go at once (owned rows take their entities)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            doomed = set(user_input.get(CONF_ROWS) or ())
            if doomed:
                await self._async_set_rows([r for r in self._rows() if r[ROW_ID] not in doomed])
                return self.async_abort(
                    reason="rows_deleted", description_placeholders={"count": str(len(doomed))}
                )
            errors[CONF_ROWS] = "no_rows_selected"
        options = self._row_options()
        if not options:
            return self.async_abort(reason="no_rows")
        return self.async_show_form(
            step_id="delete_rows",
            data_schema=probatio.Schema(
                {
                    probatio.Optional(CONF_ROWS): SelectSelector(
                        SelectSelectorConfig(
                            options=options, multiple=True, mode=SelectSelectorMode.DROPDOWN
                        )
                    )
                }
            ),
            errors=errors,
        )

    def _tls(self) -> bool:
        """Whether the server speaks Modbus/TCP Security (its devices then have roles)."""
        return transport_of(self._get_entry().data) == TRANSPORT_TLS

    def _unused_name(self) -> str:
        """'Device 2', 'Device 3', ...: a name no device of the server has."""
        names = {s.title for s in self._get_entry().get_subentries_of_type(SUBENTRY_DEVICE)}
        number = len(names) + 1
        while f"Device {number}" in names:
            number += 1
        return f"Device {number}"

    def _validate_device(
        self, user_input: Mapping[str, Any], device_id: str | None
    ) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
        """Normalise the device form; return (data, errors by field, placeholders)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        name = str(user_input.get(CONF_NAME, "")).strip()
        units, invalid = parse_unit_ids(str(user_input.get(CONF_UNIT_IDS) or ""))
        units += [u for u, key in ((0, CONF_ANSWER_0), (255, CONF_ANSWER_255)) if user_input[key]]
        unit_ids = units or None
        section_input = user_input.get(CONF_IDENTIFICATION) or {}
        identification = {
            field: str(section_input[field]).strip()
            for field in IDENTIFICATION_FIELDS
            if str(section_input.get(field) or "").strip()
        }
        stale_after = user_input.get(CONF_STALE_AFTER)
        if CONF_ROLES in user_input or self._tls():
            roles, bad_roles = parse_roles(str(user_input.get(CONF_ROLES) or ""))
        else:  # not a TLS server: the form has no roles, keep what is stored
            stored = self._get_entry().subentries.get(device_id or "")
            roles, bad_roles = dict((stored.data if stored else {}).get(CONF_ROLES) or {}), []
        data = device_data(
            name=name,
            unit_ids=unit_ids,
            unmapped=str(user_input[CONF_UNMAPPED]),
            read_only=bool(user_input[CONF_READ_ONLY]),
            stale_after=float(stale_after) if stale_after else None,
            identification=identification,
            roles=roles,
        )
        if bad_roles:
            errors[CONF_ROLES] = "invalid_roles"
            placeholders["lines"] = "; ".join(bad_roles)
        if not name:
            errors[CONF_NAME] = "name_required"
        elif identification_too_long(name) or any(
            identification_too_long(text) for text in identification.values()
        ):
            errors[CONF_NAME if identification_too_long(name) else CONF_IDENTIFICATION] = (
                "name_too_long"
            )
            placeholders["max_bytes"] = str(MAX_OBJECT_LENGTH)
        if invalid:
            errors[CONF_UNIT_IDS] = "invalid_unit_ids"
            placeholders["invalid"] = ", ".join(invalid)
        else:
            others = [
                (s.title, s.data.get(CONF_UNIT_IDS))
                for s in self._get_entry().get_subentries_of_type(SUBENTRY_DEVICE)
                if s.subentry_id != device_id
            ]
            if conflict := unit_conflict(unit_ids, others):
                errors[CONF_UNIT_IDS], placeholders["device"] = conflict
        return data, errors, placeholders
