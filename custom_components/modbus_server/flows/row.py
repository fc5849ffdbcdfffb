"""The row flow: one row of a device's table, from its source to its encoding (add or change).

The steps only ask; `planning.check_row` decides whether the row can be stored, with the
same rules and words as the table view's inline edit.
"""

from __future__ import annotations

from typing import Any

import probatio
from homeassistant.config_entries import SubentryFlowResult
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, CONF_NAME
from homeassistant.core import split_entity_id
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.util.ulid import ulid_now

from ..bindings import DomainBinding, get_binding, supported_domains
from ..const import (
    CONF_ADDRESS,
    CONF_ADVANCED,
    CONF_AREA,
    CONF_ATTRIBUTE,
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
from ..helpers import AREA_ABBREVIATIONS, optional_int, point_from_data, point_source, point_title
from ..modbus.area import Area
from ..planning import AREA_NAMES, check_row, pick_area
from ..registermap import ByteOrder, DataType, RegisterMap, WordOrder, format_plc_address
from ..table_store import ROW_ID
from .common import TableFlow
from .selectors import area_selector, box, register_data_types, suggested

ATTRIBUTE_STATE = "state"
"""Option of the attribute step meaning: the entity's state itself."""


class RowFlow(TableFlow):
    """The steps of one row: its source, area, address and encoding (add or change)."""

    def __init__(self) -> None:
        """Start with an empty row."""
        super().__init__()
        self._data: dict[str, Any] = {}
        self._binding: DomainBinding | None = None
        self._row_id: str | None = None
        """The row being changed (None: a new row)."""

    async def _async_edit_row(self, row_id: str) -> SubentryFlowResult:
        """Change a row: the same steps, pre-filled with its current values."""
        row = next(row for row in self._rows() if row[ROW_ID] == row_id)
        self._row_id = row_id
        self._data = {key: value for key, value in row.items() if key != ROW_ID}
        if self._data.get(CONF_ENTITY_ID):
            return await self.async_step_entity()
        return await self.async_step_owned()

    async def async_step_entity(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the entity whose state (or attribute) the row serves."""
        errors: dict[str, str] = {}
        if user_input is not None:
            entity_id = user_input[CONF_ENTITY_ID]
            binding = get_binding(split_entity_id(entity_id)[0])
            if binding is None:
                errors[CONF_ENTITY_ID] = "unsupported_domain"
            else:
                if entity_id != self._data.get(CONF_ENTITY_ID):
                    self._data.pop(CONF_ATTRIBUTE, None)
                    # Suggest the entity's own unit (a changed entity replaces the old one).
                    state = self.hass.states.get(entity_id)
                    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) if state else None
                    self._data[CONF_UNIT] = unit
                self._data[CONF_ENTITY_ID] = entity_id
                self._binding = binding
                if binding.attributes():
                    return await self.async_step_attribute()
                self._data[CONF_ATTRIBUTE] = None
                return await self.async_step_area()
        return self.async_show_form(
            step_id="entity",
            data_schema=probatio.Schema(
                {
                    probatio.Required(
                        CONF_ENTITY_ID, default=self._data.get(CONF_ENTITY_ID, probatio.UNDEFINED)
                    ): EntitySelector(EntitySelectorConfig(domain=supported_domains()))
                }
            ),
            errors=errors,
        )

    async def async_step_attribute(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the state itself or one of the attributes the domain offers."""
        assert self._binding is not None
        if user_input is not None:
            attribute = user_input[CONF_ATTRIBUTE]
            self._data[CONF_ATTRIBUTE] = None if attribute == ATTRIBUTE_STATE else attribute
            return await self.async_step_area()
        options = []
        if self._binding.areas(None):
            options.append(ATTRIBUTE_STATE)
        options.extend(self._binding.attributes())
        current = self._data.get(CONF_ATTRIBUTE) or options[0]
        return self.async_show_form(
            step_id="attribute",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_ATTRIBUTE, default=current): SelectSelector(
                        SelectSelectorConfig(
                            options=options,
                            mode=SelectSelectorMode.LIST,
                            translation_key=CONF_ATTRIBUTE,
                        )
                    )
                }
            ),
            description_placeholders={
                "entity_id": self._data[CONF_ENTITY_ID],
                "values": self._current_values(options),
            },
        )

    def _current_values(self, options: list[str]) -> str:
        """What the entity shows now for each choice it has (helps picking the right one)."""
        state = self.hass.states.get(self._data[CONF_ENTITY_ID])
        if state is None:
            return "-"
        values = [
            f"{option} = {state.state if option == ATTRIBUTE_STATE else state.attributes[option]}"
            for option in options
            if option == ATTRIBUTE_STATE or option in state.attributes
        ]
        return ", ".join(values)

    async def async_step_area(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick the area; the choices depend on the entity's domain and attribute."""
        assert self._binding is not None
        areas = self._binding.areas(self._data.get(CONF_ATTRIBUTE))
        if not areas:
            return self.async_abort(reason="no_area")
        if user_input is not None or len(areas) == 1:
            area = Area(user_input[CONF_AREA]) if user_input is not None else areas[0]
            self._set_area(area)
            return await self.async_step_point()
        current = self._data.get(CONF_AREA)
        # A sensor is offered as an input register, a switch as a coil: writable where the
        # entity can be written, read-only otherwise (a holding register would invite writes).
        attribute = self._data.get(CONF_ATTRIBUTE)
        prefer_writable = not self._safety_relevant(self._data[CONF_ENTITY_ID])
        default = (
            current
            if current in areas
            else str(pick_area(self._binding, areas, prefer_writable, attribute))
        )
        return self.async_show_form(
            step_id="area",
            data_schema=probatio.Schema(
                {probatio.Required(CONF_AREA, default=default): area_selector(areas)}
            ),
            description_placeholders={
                "entity_id": point_source(self._data[CONF_ENTITY_ID], attribute) or ""
            },
        )

    async def async_step_owned(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A value owned by the integration: it becomes an entity of the server device."""
        if user_input is not None:
            self._data[CONF_ENTITY_ID] = None
            self._data[CONF_ATTRIBUTE] = None
            self._data[CONF_NAME] = user_input[CONF_NAME].strip()
            self._set_area(Area(user_input[CONF_AREA]))
            return await self.async_step_point()
        return self.async_show_form(
            step_id="owned",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_NAME, default=self._data.get(CONF_NAME, "")): str,
                    probatio.Required(
                        CONF_AREA, default=self._data.get(CONF_AREA, Area.HOLDING_REGISTER.value)
                    ): area_selector(list(Area)),
                }
            ),
        )

    def _set_area(self, area: Area) -> None:
        """Remember the area; a changed area resets the type and address to its defaults."""
        if self._data.get(CONF_AREA) != area.value:
            self._data[CONF_AREA] = area.value
            data_type = self._default_type(area)
            self._data[CONF_DATA_TYPE] = data_type.value
            existing = self._existing(self._editing_id())
            count = data_type.fixed_register_count or 1
            self._data[CONF_ADDRESS] = RegisterMap(existing).next_free_address(area, count)
            entity_id = self._data.get(CONF_ENTITY_ID)
            # A lock or a garage door is made writable on purpose, never by default.
            safety = entity_id is not None and self._safety_relevant(entity_id)
            self._data[CONF_WRITABLE] = self._can_write(area) and not safety
            for field in (CONF_BIT, CONF_LENGTH):
                self._data[field] = None

    def _default_type(self, area: Area) -> DataType:
        if self._binding is not None:
            return self._binding.default_data_type(
                area, self._data.get(CONF_ATTRIBUTE), self._state(self._data.get(CONF_ENTITY_ID))
            )
        return DataType.BOOL if area.is_bit else DataType.INT16

    def _can_write(self, area: Area) -> bool:
        if self._binding is None:
            return area.is_writable
        return self._binding.writable(area, self._data.get(CONF_ATTRIBUTE))

    def _editing_id(self) -> str | None:
        return self._row_id

    async def async_step_point(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Address, data type, scaling and (collapsed) word/byte order; then validate."""
        area = Area(self._data[CONF_AREA])
        errors: dict[str, str] = {}
        source = point_source(self._data.get(CONF_ENTITY_ID), self._data.get(CONF_ATTRIBUTE))
        placeholders: dict[str, str] = {
            "area": AREA_ABBREVIATIONS[area],
            "area_name": AREA_NAMES[area],
            "source": source or self._data.get(CONF_NAME) or "",
            "first_reference": format_plc_address(area, 0),
            "device_stale_after": self._device_stale_after(),
        }
        if user_input is not None:
            advanced = user_input.get(CONF_ADVANCED, {})
            self._data.update(
                {
                    CONF_ADDRESS: int(user_input[CONF_ADDRESS]),
                    CONF_DATA_TYPE: user_input.get(CONF_DATA_TYPE, DataType.BOOL.value),
                    CONF_SCALE: float(user_input.get(CONF_SCALE, 1.0)),
                    CONF_OFFSET: float(user_input.get(CONF_OFFSET, 0.0)),
                    CONF_WRITABLE: bool(user_input.get(CONF_WRITABLE, False)),
                    CONF_UNIT: user_input.get(CONF_UNIT) or None,
                    CONF_WORD_ORDER: advanced.get(CONF_WORD_ORDER, WordOrder.BIG.value),
                    CONF_BYTE_ORDER: advanced.get(CONF_BYTE_ORDER, ByteOrder.BIG.value),
                    CONF_BIT: optional_int(advanced.get(CONF_BIT)),
                    CONF_LENGTH: optional_int(advanced.get(CONF_LENGTH)),
                    CONF_UNAVAILABLE_VALUE: advanced.get(CONF_UNAVAILABLE_VALUE),
                    CONF_STALE_AFTER: _stale_after(advanced, self._data),
                    CONF_WRITE_MODE: advanced.get(
                        CONF_WRITE_MODE, self._data.get(CONF_WRITE_MODE, WRITE_MODE_DEFAULT)
                    ),
                }
            )
            if not self._data.get(CONF_NAME):
                self._data[CONF_NAME] = ""
            errors, placeholders_err = self._validate()
            placeholders.update(placeholders_err)
            if not errors:
                return await self._async_finish()
        return self.async_show_form(
            step_id="point",
            data_schema=self._point_schema(area, expand=CONF_ADVANCED in errors),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _device_stale_after(self) -> str:
        """The device's maximum age as the stale-after field names it ("off", "60 s")."""
        assert self._device_id is not None
        device = self._get_entry().subentries.get(self._device_id)
        seconds = device.data.get(CONF_STALE_AFTER) if device is not None else None
        return f"{float(seconds):g} s" if seconds else "off"

    def _validate(self) -> tuple[dict[str, str], dict[str, str]]:
        point = point_from_data(self._data, self._editing_id() or "new")
        return check_row(point, self._existing(self._editing_id()))

    async def _async_finish(self) -> SubentryFlowResult:
        """Store the row in the device's table (a changed row keeps its id and place)."""
        title = point_title(point_from_data(self._data))
        if self._row_id is None:
            await self._async_set_rows([*self._rows(), {**self._data, ROW_ID: ulid_now()}])
            reason = "row_added"
        else:
            changed = {**self._data, ROW_ID: self._row_id}
            await self._async_set_rows(
                [changed if row[ROW_ID] == self._row_id else row for row in self._rows()]
            )
            reason = "row_changed"
        return self.async_abort(reason=reason, description_placeholders={"row": title})

    def _point_schema(self, area: Area, *, expand: bool = False) -> probatio.Schema:
        """The point form.

        The advanced section opens when it holds an error to fix or a field the chosen
        type needs (bit number, string length).
        """
        data = self._data
        expand = expand or data.get(CONF_DATA_TYPE) in (DataType.BIT, DataType.STRING)
        fields: dict[Any, Any] = {
            probatio.Required(CONF_ADDRESS, default=data[CONF_ADDRESS]): box(
                min=0, max=65535, step=1
            ),
        }
        if not area.is_bit:
            fields[probatio.Required(CONF_DATA_TYPE, default=data[CONF_DATA_TYPE])] = (
                SelectSelector(
                    SelectSelectorConfig(
                        options=register_data_types(),
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key=CONF_DATA_TYPE,
                    )
                )
            )
            fields[probatio.Required(CONF_SCALE, default=data.get(CONF_SCALE, 1.0))] = box(
                step="any"
            )
            fields[probatio.Required(CONF_OFFSET, default=data.get(CONF_OFFSET, 0.0))] = box(
                step="any"
            )
            fields[probatio.Optional(CONF_UNIT, description=suggested(data.get(CONF_UNIT)))] = str
        if area.is_writable and self._can_write(area):
            fields[probatio.Required(CONF_WRITABLE, default=data.get(CONF_WRITABLE, False))] = (
                BooleanSelector()
            )
        advanced: dict[Any, Any] = {}
        if not area.is_bit:
            advanced[
                probatio.Required(
                    CONF_WORD_ORDER, default=data.get(CONF_WORD_ORDER, WordOrder.BIG.value)
                )
            ] = SelectSelector(
                SelectSelectorConfig(
                    options=[order.value for order in WordOrder],
                    translation_key=CONF_WORD_ORDER,
                )
            )
            advanced[
                probatio.Required(
                    CONF_BYTE_ORDER, default=data.get(CONF_BYTE_ORDER, ByteOrder.BIG.value)
                )
            ] = SelectSelector(
                SelectSelectorConfig(
                    options=[order.value for order in ByteOrder],
                    translation_key=CONF_BYTE_ORDER,
                )
            )
            advanced[probatio.Optional(CONF_BIT, description=suggested(data.get(CONF_BIT)))] = box(
                min=0, max=15, step=1
            )
            advanced[
                probatio.Optional(CONF_LENGTH, description=suggested(data.get(CONF_LENGTH)))
            ] = box(min=1, max=125, step=1)
        advanced[
            probatio.Optional(
                CONF_UNAVAILABLE_VALUE, description=suggested(data.get(CONF_UNAVAILABLE_VALUE))
            )
        ] = box(step="any")
        if data.get(CONF_ENTITY_ID):
            # Empty: the device's maximum age; 0: never stale (staleness.max_age).
            advanced[
                probatio.Optional(
                    CONF_STALE_AFTER, description=suggested(data.get(CONF_STALE_AFTER))
                )
            ] = box(min=0, max=86400, step=1, unit_of_measurement="s")
        if area.is_writable and self._can_write(area):
            # When a client's write calls the service: see bridge.py and the README.
            advanced[
                probatio.Required(
                    CONF_WRITE_MODE, default=data.get(CONF_WRITE_MODE, WRITE_MODE_DEFAULT)
                )
            ] = SelectSelector(
                SelectSelectorConfig(options=list(WRITE_MODES), translation_key=CONF_WRITE_MODE)
            )
        fields[probatio.Required(CONF_ADVANCED)] = section(
            probatio.Schema(advanced), {"collapsed": not expand}
        )
        return probatio.Schema(fields)


def _stale_after(advanced: dict[str, Any], data: dict[str, Any]) -> float | None:
    """The row's staleness override from the form: None inherits the device's, 0 never.

    An owned row has no source to go stale (the field is not shown): it keeps none.
    """
    value = advanced.get(CONF_STALE_AFTER)
    if not data.get(CONF_ENTITY_ID) or value is None or value == "":
        return None
    return float(value)


class PointSubentryFlow(RowFlow):
    """Add one row to a device's table."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Ask where the value comes from: an entity, or the integration itself."""
        if self._device_id is None:
            return await self.async_step_device()
        return self.async_show_menu(step_id="user", menu_options=["entity", "owned"])
