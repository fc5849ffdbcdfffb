"""Config flow: the server entry (user, reconfigure) and the address table subentries."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, override

import probatio
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryData,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_NAME,
    CONF_PORT,
    STATE_UNKNOWN,
)
from homeassistant.core import State, callback, split_entity_id
from homeassistant.data_entry_flow import section
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.util.ulid import ulid_now

from .bindings import DomainBinding, get_binding, supported_domains
from .const import (
    BIND_ALL,
    BIND_ALL_IPV4,
    BIND_ALL_IPV6,
    CONF_ADDRESS,
    CONF_ADVANCED,
    CONF_ALLOWED_CLIENTS,
    CONF_AREA,
    CONF_ATTRIBUTE,
    CONF_BIND_ADDRESS,
    CONF_BIT,
    CONF_BYTE_ORDER,
    CONF_DATA_TYPE,
    CONF_ENTITY_ID,
    CONF_IDENTIFICATION,
    CONF_IDLE_TIMEOUT,
    CONF_LENGTH,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_CONNECTIONS_PER_HOST,
    CONF_OFFSET,
    CONF_READ_ONLY,
    CONF_SCALE,
    CONF_STALE_AFTER,
    CONF_UNAVAILABLE_VALUE,
    CONF_UNIT,
    CONF_UNIT_ID,
    CONF_UNIT_IDS,
    CONF_UNKNOWN_UNIT,
    CONF_UNMAPPED,
    CONF_WORD_ORDER,
    CONF_WRITABLE,
    CONF_WRITE_MODE,
    CONF_WRITE_TIMEOUT,
    DEFAULT_BIND_ADDRESS,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_HOST,
    DEFAULT_NAME,
    DEFAULT_PORT,
    DEFAULT_UNKNOWN_UNIT,
    DEFAULT_UNMAPPED,
    DEFAULT_WRITE_TIMEOUT,
    DOMAIN,
    SUBENTRY_BULK,
    SUBENTRY_DEVICE,
    SUBENTRY_IMPORT,
    SUBENTRY_POINT,
    WRITE_MODE_DEFAULT,
    WRITE_MODES,
)
from .device_rules import (
    IDENTIFICATION_FIELDS,
    device_data,
    format_unit_ids,
    parse_unit_ids,
    unit_conflict,
)
from .helpers import (
    AREA_ABBREVIATIONS,
    UNPRIVILEGED_PORT,
    bind_error_key,
    catch_all_clients,
    data_from_point,
    identification_too_long,
    next_free_port,
    optional_int,
    parse_allowed_clients,
    point_from_data,
    point_source,
    point_title,
    safety_relevant,
    split_source,
    try_bind,
)
from .modbus import UnknownUnit
from .modbus.area import Area
from .modbus.device_id import MAX_OBJECT_LENGTH
from .registermap import (
    ByteOrder,
    DataType,
    FieldError,
    ImportFormatError,
    MapValidationError,
    Point,
    RegisterMap,
    WordOrder,
    format_plc_address,
    import_csv,
    import_json,
    validate_point,
)
from .registermap.io import MAX_IMPORT_CHARS
from .table_store import ROW_ID, Row, TableStore, async_get_table_store

CONF_DEVICE = "device"
CONF_ROW = "row"
CONF_ROWS = "rows"
CONF_ANSWER_0 = "answer_0"
CONF_ANSWER_255 = "answer_255"
"""Device form: also answer unit id 0 / 255 (the Modbus TCP conventions, see the README)."""

ATTRIBUTE_STATE = "state"
"""Option of the attribute step meaning: the entity's state itself."""

ADVANCED_FIELDS = (CONF_WORD_ORDER, CONF_BYTE_ORDER, CONF_BIT, CONF_LENGTH, CONF_UNAVAILABLE_VALUE)
"""Point fields shown in the collapsed advanced section (their errors are shown there)."""

POINT_FIELDS = (
    CONF_ADDRESS,
    CONF_DATA_TYPE,
    CONF_SCALE,
    CONF_OFFSET,
    CONF_WRITABLE,
    CONF_UNIT,
)
PREVIEW_ROWS = 50
ERROR_DETAILS = 10
WRITE_TIMEOUT_RANGE = (0.5, 60.0)
"""Seconds a client's write may wait for its service calls (the form's bounds)."""


def _server_schema(defaults: Mapping[str, Any], *, first_device: bool) -> probatio.Schema:
    """The server form.

    `first_device`: it also asks the unit id and unmapped policy of the device created with
    the server (later they are that device's own settings).
    """
    unit_id = defaults.get(CONF_UNIT_ID)
    device_fields: dict[Any, Any] = {}
    if first_device:
        device_fields = {
            probatio.Optional(
                CONF_UNIT_ID,
                description={"suggested_value": unit_id} if unit_id is not None else None,
            ): NumberSelector(
                NumberSelectorConfig(min=0, max=255, step=1, mode=NumberSelectorMode.BOX)
            ),
            probatio.Required(
                CONF_UNMAPPED, default=defaults.get(CONF_UNMAPPED, DEFAULT_UNMAPPED)
            ): _unmapped_selector(),
        }
    return probatio.Schema(
        {
            probatio.Required(CONF_NAME, default=defaults.get(CONF_NAME, DEFAULT_NAME)): str,
            probatio.Required(
                CONF_BIND_ADDRESS, default=defaults.get(CONF_BIND_ADDRESS, DEFAULT_BIND_ADDRESS)
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[BIND_ALL_IPV4, BIND_ALL_IPV6, BIND_ALL],
                    custom_value=True,
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key=CONF_BIND_ADDRESS,
                )
            ),
            probatio.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): (
                NumberSelector(
                    NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
                )
            ),
            **device_fields,
            probatio.Required(
                CONF_MAX_CONNECTIONS,
                default=defaults.get(CONF_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS),
            ): NumberSelector(
                NumberSelectorConfig(min=1, max=1000, step=1, mode=NumberSelectorMode.BOX)
            ),
            probatio.Required(
                CONF_MAX_CONNECTIONS_PER_HOST,
                default=defaults.get(
                    CONF_MAX_CONNECTIONS_PER_HOST, DEFAULT_MAX_CONNECTIONS_PER_HOST
                ),
            ): NumberSelector(
                NumberSelectorConfig(min=1, max=1000, step=1, mode=NumberSelectorMode.BOX)
            ),
            probatio.Required(
                CONF_IDLE_TIMEOUT, default=defaults.get(CONF_IDLE_TIMEOUT, DEFAULT_IDLE_TIMEOUT)
            ): NumberSelector(
                NumberSelectorConfig(
                    min=0,
                    max=86400,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="s",
                )
            ),
            probatio.Required(
                CONF_WRITE_TIMEOUT,
                default=defaults.get(CONF_WRITE_TIMEOUT, DEFAULT_WRITE_TIMEOUT),
            ): NumberSelector(
                NumberSelectorConfig(
                    min=WRITE_TIMEOUT_RANGE[0],
                    max=WRITE_TIMEOUT_RANGE[1],
                    step=0.1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="s",
                )
            ),
            probatio.Required(
                CONF_UNKNOWN_UNIT, default=defaults.get(CONF_UNKNOWN_UNIT, DEFAULT_UNKNOWN_UNIT)
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[str(choice) for choice in UnknownUnit],
                    translation_key=CONF_UNKNOWN_UNIT,
                )
            ),
            probatio.Optional(
                CONF_ALLOWED_CLIENTS, default=list(defaults.get(CONF_ALLOWED_CLIENTS, []))
            ): TextSelector(TextSelectorConfig(multiple=True)),
            probatio.Required(
                CONF_READ_ONLY, default=defaults.get(CONF_READ_ONLY, False)
            ): BooleanSelector(),
        }
    )


def _unmapped_selector() -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(options=["error", "zero"], translation_key=CONF_UNMAPPED)
    )


def _redisplayed(user_input: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults of a refused form: the normalised values, but the allow-list as typed.

    The normalised list drops the entries that are not addresses, which are exactly the
    ones the error asks to correct.
    """
    return {
        **user_input,
        **data,
        CONF_ALLOWED_CLIENTS: list(user_input.get(CONF_ALLOWED_CLIENTS, [])),
    }


class ModbusServerConfigFlow(ConfigFlow, domain=DOMAIN):
    """One config entry per Modbus TCP server."""

    VERSION = 2
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """No catch-all allow-list entry confirmed yet."""
        self._confirmed_catch_all: list[str] = []

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Devices, and their rows: one at a time, many entities at once, or an import."""
        return {
            SUBENTRY_DEVICE: DeviceSubentryFlow,
            SUBENTRY_POINT: PointSubentryFlow,
            SUBENTRY_BULK: BulkSubentryFlow,
            SUBENTRY_IMPORT: ImportSubentryFlow,
        }

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create a server: settings, then a test bind of the chosen address and port."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data, errors, placeholders = await self._async_validate(user_input, None)
            if not errors:
                # The server's first device: what a v1 server answered by itself.
                unit_id = user_input.get(CONF_UNIT_ID)
                device = device_data(
                    name=data[CONF_NAME],
                    unit_ids=None if unit_id is None else [int(unit_id)],
                    unmapped=str(user_input.get(CONF_UNMAPPED, DEFAULT_UNMAPPED)),
                )
                return self.async_create_entry(
                    title=data[CONF_NAME],
                    data=data,
                    subentries=[
                        ConfigSubentryData(
                            data=device,
                            subentry_type=SUBENTRY_DEVICE,
                            title=data[CONF_NAME],
                            unique_id=None,
                        )
                    ],
                )
            defaults: Mapping[str, Any] = _redisplayed(user_input, data)
        else:
            defaults = {
                CONF_NAME: self._unused_name(),
                CONF_PORT: await self._async_suggest_port(DEFAULT_PORT, None),
            }
        return self.async_show_form(
            step_id="user",
            data_schema=_server_schema(defaults, first_device=True),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server settings; its devices and their tables are kept."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        defaults: Mapping[str, Any] = entry.data
        if user_input is not None:
            data, errors, placeholders = await self._async_validate(user_input, entry)
            if not errors:
                if entry.state is ConfigEntryState.LOADED:
                    # The update listener reloads the entry (once) with the new settings.
                    return self.async_update_and_abort(entry, title=data[CONF_NAME], data=data)
                # Not running (e.g. the port was refused): no listener, so set up again here.
                return self.async_update_reload_and_abort(entry, title=data[CONF_NAME], data=data)
            defaults = _redisplayed(user_input, data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_server_schema(defaults, first_device=False),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _unused_name(self) -> str:
        """'Modbus Server', or 'Modbus Server 2', ... when servers already use the name.

        The name becomes the device name: two devices called alike cannot be told apart.
        """
        names = {entry.title for entry in self._async_current_entries(include_ignore=False)}
        name, number = DEFAULT_NAME, 1
        while name in names:
            number += 1
            name = f"{DEFAULT_NAME} {number}"
        return name

    async def _async_suggest_port(self, start: int, exclude: str | None) -> int:
        """The first free port from `start`; from 5020 when every privileged one is refused.

        Home Assistant not running as root may not listen below 1024: suggesting 502 would
        only lead to a "permission denied" on submit.
        """
        taken = self._taken_ports(exclude)
        return await self._async_free_port(BIND_ALL_IPV4, start, taken) or start

    def _taken_ports(self, exclude: str | None) -> set[int]:
        """Ports of the other server entries (`exclude`: the entry being changed)."""
        return {
            int(entry.data[CONF_PORT])
            for entry in self._async_current_entries(include_ignore=False)
            if entry.entry_id != exclude and CONF_PORT in entry.data
        }

    async def _async_free_port(self, bind: str, start: int, taken: set[int]) -> int | None:
        """The first free port from `start`, else from 5020; None when none is found."""
        for first in dict.fromkeys((start, max(start, UNPRIVILEGED_PORT))):
            port = await self.hass.async_add_executor_job(next_free_port, bind, first, taken)
            if port is not None:
                return port
        return None

    async def _async_validate(
        self, user_input: Mapping[str, Any], entry: ConfigEntry | None
    ) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
        """Normalise the form; return (data, errors by field, description placeholders)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        bind = str(user_input[CONF_BIND_ADDRESS]).strip()
        port = int(user_input[CONF_PORT])
        allowed, invalid = parse_allowed_clients(user_input.get(CONF_ALLOWED_CLIENTS, []))
        data: dict[str, Any] = {
            CONF_NAME: str(user_input[CONF_NAME]).strip() or DEFAULT_NAME,
            CONF_BIND_ADDRESS: bind,
            CONF_PORT: port,
            CONF_MAX_CONNECTIONS: int(user_input[CONF_MAX_CONNECTIONS]),
            CONF_MAX_CONNECTIONS_PER_HOST: int(
                user_input.get(CONF_MAX_CONNECTIONS_PER_HOST, DEFAULT_MAX_CONNECTIONS_PER_HOST)
            ),
            CONF_IDLE_TIMEOUT: int(user_input[CONF_IDLE_TIMEOUT]),
            CONF_WRITE_TIMEOUT: float(user_input.get(CONF_WRITE_TIMEOUT, DEFAULT_WRITE_TIMEOUT)),
            CONF_UNKNOWN_UNIT: str(user_input.get(CONF_UNKNOWN_UNIT, DEFAULT_UNKNOWN_UNIT)),
            CONF_ALLOWED_CLIENTS: allowed,
            CONF_READ_ONLY: bool(user_input[CONF_READ_ONLY]),
        }
        if identification_too_long(data[CONF_NAME]):
            errors[CONF_NAME] = "name_too_long"
            placeholders["max_bytes"] = str(MAX_OBJECT_LENGTH)
        if data[CONF_MAX_CONNECTIONS_PER_HOST] > data[CONF_MAX_CONNECTIONS]:
            errors[CONF_MAX_CONNECTIONS_PER_HOST] = "per_host_above_max"
        if bind != BIND_ALL:
            try:
                ipaddress.ip_address(bind)
            except ValueError:
                errors[CONF_BIND_ADDRESS] = "invalid_bind_address"
        if invalid:
            errors[CONF_ALLOWED_CLIENTS] = "invalid_allowed_clients"
            placeholders["invalid"] = ", ".join(invalid)
        elif (everyone := catch_all_clients(allowed)) and everyone not in (
            self._confirmed_catch_all,
            catch_all_clients(entry.data.get(CONF_ALLOWED_CLIENTS, [])) if entry else None,
        ):
            # Accepted on the next submit with the same entries: the user has read the warning
            # (at the top of the form, where it is seen without scrolling, and on the field).
            self._confirmed_catch_all = everyone
            errors["base"] = "confirm_allowed_everyone"
            errors[CONF_ALLOWED_CLIENTS] = "allowed_clients_everyone"
            placeholders["everyone"] = ", ".join(everyone)
        if errors:
            return data, errors, placeholders

        exclude = entry.entry_id if entry is not None else None
        taken = self._taken_ports(exclude)
        current: Mapping[str, Any] = entry.data if entry is not None else {}
        same_port = current.get(CONF_PORT) == port
        # This entry's own running server may be what holds the port (e.g. moving it from
        # 127.0.0.1 to all interfaces): "in use" then proves nothing, the reload stops it
        # first. Should another program hold the new address, setup retries (not ready).
        own_port = same_port and entry is not None and entry.state is ConfigEntryState.LOADED
        if port in taken:
            errors[CONF_PORT] = "port_configured"
        elif not (same_port and current.get(CONF_BIND_ADDRESS) == bind):
            try:
                await self.hass.async_add_executor_job(try_bind, bind, port)
            except OSError as err:
                key = bind_error_key(err)
                if not (own_port and key == "port_in_use"):
                    errors[CONF_BIND_ADDRESS if key == "address_not_available" else CONF_PORT] = key
        if errors.get(CONF_PORT):
            denied = errors[CONF_PORT] == "permission_denied" and port < UNPRIVILEGED_PORT
            start = UNPRIVILEGED_PORT if denied else port + 1
            suggestion = await self._async_free_port(bind, start, taken)
            # The field now shows the suggestion: the message names the refused port too.
            placeholders["port"] = str(port)
            placeholders["suggested_port"] = str(suggestion) if suggestion else "-"
            if suggestion is not None:
                data[CONF_PORT] = suggestion
        return data, errors, placeholders


# --- address table ---------------------------------------------------------------------------


AREA_NAMES = {
    Area.COIL: "coil",
    Area.DISCRETE_INPUT: "discrete input",
    Area.INPUT_REGISTER: "input register",
    Area.HOLDING_REGISTER: "holding register",
}
"""Area names for the point form's description."""

AREA_ORDER = (Area.COIL, Area.DISCRETE_INPUT, Area.INPUT_REGISTER, Area.HOLDING_REGISTER)
"""Areas as PLC references number them: 0xxxx, 1xxxx, 3xxxx, 4xxxx."""


def _area_selector(areas: list[Area]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=[str(area) for area in sorted(areas, key=AREA_ORDER.index)],
            mode=SelectSelectorMode.LIST,
            translation_key=CONF_AREA,
        )
    )


def _box(**kwargs: Any) -> NumberSelector:
    config = NumberSelectorConfig(mode=NumberSelectorMode.BOX)
    config.update(kwargs)  # type: ignore[typeddict-item]
    return NumberSelector(config)


def _suggested(value: Any) -> dict[str, Any] | None:
    return None if value is None or value == "" else {"suggested_value": value}


def _register_data_types() -> list[str]:
    """Every type a register area can hold (bool is for coils and discrete inputs)."""
    return [data_type.value for data_type in DataType if data_type is not DataType.BOOL]


def _field_errors(errors: list[Any]) -> tuple[dict[str, str], dict[str, str]]:
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


class _TableFlow(ConfigSubentryFlow):
    """Shared helpers of the address-table subentry flows."""

    def _state(self, entity_id: str | None) -> State | None:
        """The entity's state, for a binding to refine its default data type.

        An entity without a state yet (its integration not loaded) is described by its
        registry entry's device class, so a timestamp sensor still defaults to uint32.
        """
        if not entity_id:
            return None
        state = self.hass.states.get(entity_id)
        if state is None and (device_class := self._device_class(entity_id)):
            return State(entity_id, STATE_UNKNOWN, {ATTR_DEVICE_CLASS: device_class})
        return state

    def _device_class(self, entity_id: str) -> str | None:
        """Device class from the state, else from the entity registry."""
        state = self.hass.states.get(entity_id)
        if state is not None and (device_class := state.attributes.get(ATTR_DEVICE_CLASS)):
            return str(device_class)
        if entry := er.async_get(self.hass).async_get(entity_id):
            return entry.device_class or entry.original_device_class
        return None

    def _safety_relevant(self, entity_id: str) -> bool:
        """Lock, alarm panel or door-like cover (see helpers.safety_relevant)."""
        return safety_relevant(split_entity_id(entity_id)[0], self._device_class(entity_id))

    _device_id: str | None = None
    _tables: TableStore | None = None

    async def async_step_device(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the device the rows are for (asked only when the server has several)."""
        devices = self._get_entry().get_subentries_of_type(SUBENTRY_DEVICE)
        if not devices:
            return self.async_abort(reason="no_devices")
        if user_input is not None or len(devices) == 1:
            chosen = devices[0].subentry_id if user_input is None else user_input[CONF_DEVICE]
            await self._async_use_device(chosen)
            return await self.async_step_user()
        return self.async_show_form(
            step_id="device",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_DEVICE, default=devices[0].subentry_id): (
                        SelectSelector(
                            SelectSelectorConfig(
                                options=[
                                    SelectOptionDict(value=d.subentry_id, label=d.title)
                                    for d in devices
                                ],
                                mode=SelectSelectorMode.LIST,
                            )
                        )
                    )
                }
            ),
        )

    async def _async_use_device(self, device_id: str) -> None:
        """Work on this device's table from now on."""
        self._device_id = device_id
        self._tables = await async_get_table_store(self.hass, self._get_entry().entry_id)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The flow's first step (after the device step)."""
        raise NotImplementedError

    def _rows(self) -> tuple[Row, ...]:
        assert self._tables is not None
        assert self._device_id is not None
        return self._tables.rows(self._device_id)

    def _existing(self, exclude: str | None = None) -> list[Point]:
        """The device's stored rows as points (optionally leaving one out)."""
        return [
            point_from_data(row, str(row[ROW_ID])) for row in self._rows() if row[ROW_ID] != exclude
        ]

    async def _async_set_rows(self, rows: list[Mapping[str, Any]]) -> None:
        """Store the device's new table; the running server swaps it in (no restart)."""
        assert self._tables is not None
        assert self._device_id is not None
        await self._tables.async_set_rows(self._device_id, rows)

    async def _async_add_points(self, points: list[Point]) -> SubentryFlowResult:
        """Append every point as a row of the device's table, then finish."""
        new = [{**data_from_point(point), ROW_ID: ulid_now()} for point in points]
        await self._async_set_rows([*self._rows(), *new])
        return self.async_abort(
            reason="points_added", description_placeholders={"count": str(len(points))}
        )

    def _preview(self, points: list[Point], kept_read_only: frozenset[str] = frozenset()) -> str:
        """The first rows as a Markdown table; `kept_read_only`: sources marked and explained."""
        lines = ["| address | PLC | source | type | writable |", "|---|---|---|---|---|"]
        for point in points[:PREVIEW_ROWS]:
            where = f"{AREA_ABBREVIATIONS[point.area]} {point.address}"
            writable = "yes" if point.writable else "no"
            if point.source in kept_read_only:
                writable = "no ⚠"
            lines.append(
                f"| {where} | {point.plc_reference} | {point.source or point.name} "
                f"| {point.data_type} | {writable} |"
            )
        if len(points) > PREVIEW_ROWS:
            lines.append(f"| … {len(points) - PREVIEW_ROWS} more | | | | |")
        if kept_read_only:
            lines.append(
                "\n⚠ Locks, alarm panels and garage doors, gates and doors stay read-only "
                "here: any client that may connect could open them. To let clients write one, "
                "add its row on its own with Add register."
            )
        return "\n".join(lines)


class _PreviewedTableFlow(_TableFlow):
    """A flow that builds many rows, shows them, and adds them all on confirmation."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        super().__init__()
        self._points: list[Point] = []
        self._kept_read_only: frozenset[str] = frozenset()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show the resulting table; submitting creates every row."""
        if user_input is not None:
            return await self._async_add_points(self._points)
        return self.async_show_form(
            step_id="confirm",
            data_schema=probatio.Schema({}),
            description_placeholders={
                "count": str(len(self._points)),
                "table": self._preview(self._points, self._kept_read_only),
            },
        )


class _RowFlow(_TableFlow):
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
            else str(_pick_area(self._binding, areas, prefer_writable, attribute))
        )
        return self.async_show_form(
            step_id="area",
            data_schema=probatio.Schema(
                {probatio.Required(CONF_AREA, default=default): _area_selector(areas)}
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
                    ): _area_selector(list(Area)),
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

    def _validate(self) -> tuple[dict[str, str], dict[str, str]]:
        point = point_from_data(self._data, self._editing_id() or "new")
        if _owned_text(point):
            return {CONF_DATA_TYPE: "owned_string"}, {}
        problems = validate_point(point)
        if not problems:
            existing = self._existing(self._editing_id())
            try:
                RegisterMap([*existing, point])
            except MapValidationError as err:
                problems = [_explain_overlap(error, existing, point) for error in err.errors]
        return _field_errors(problems)

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
            probatio.Required(CONF_ADDRESS, default=data[CONF_ADDRESS]): _box(
                min=0, max=65535, step=1
            ),
        }
        if not area.is_bit:
            fields[probatio.Required(CONF_DATA_TYPE, default=data[CONF_DATA_TYPE])] = (
                SelectSelector(
                    SelectSelectorConfig(
                        options=_register_data_types(),
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key=CONF_DATA_TYPE,
                    )
                )
            )
            fields[probatio.Required(CONF_SCALE, default=data.get(CONF_SCALE, 1.0))] = _box(
                step="any"
            )
            fields[probatio.Required(CONF_OFFSET, default=data.get(CONF_OFFSET, 0.0))] = _box(
                step="any"
            )
            fields[probatio.Optional(CONF_UNIT, description=_suggested(data.get(CONF_UNIT)))] = str
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
            advanced[probatio.Optional(CONF_BIT, description=_suggested(data.get(CONF_BIT)))] = (
                _box(min=0, max=15, step=1)
            )
            advanced[
                probatio.Optional(CONF_LENGTH, description=_suggested(data.get(CONF_LENGTH)))
            ] = _box(min=1, max=125, step=1)
        advanced[
            probatio.Optional(
                CONF_UNAVAILABLE_VALUE, description=_suggested(data.get(CONF_UNAVAILABLE_VALUE))
            )
        ] = _box(step="any")
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


def _explain_overlap(error: FieldError, existing: list[Point], point: Point) -> FieldError:
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


def _import_problem(error: FieldError, existing: list[Point], points: list[Point]) -> str:
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


def _read_table(text: str) -> list[Point]:
    """Points of a pasted CSV or JSON text (ImportFormatError lists its problems)."""
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        return import_json(stripped)
    return import_csv(stripped)


def _owned_text(point: Point) -> bool:
    """An owned holding register becomes a number entity: text does not fit."""
    return (
        point.source is None
        and point.area is Area.HOLDING_REGISTER
        and point.data_type is DataType.STRING
    )


class PointSubentryFlow(_RowFlow):
    """Add one row to a device's table."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Ask where the value comes from: an entity, or the integration itself."""
        if self._device_id is None:
            return await self.async_step_device()
        return self.async_show_menu(step_id="user", menu_options=["entity", "owned"])


class BulkSubentryFlow(_PreviewedTableFlow):
    """Map many entities at once: consecutive addresses per area, default types, a preview."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick the entities and whether writable areas are preferred."""
        if self._device_id is None:
            return await self.async_step_device()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            prefer_writable = bool(user_input[CONF_WRITABLE])
            points, unsupported = self._plan(user_input[CONF_ENTITY_ID], prefer_writable)
            if unsupported:
                errors[CONF_ENTITY_ID] = "unsupported_entities"
                placeholders["entities"] = ", ".join(unsupported)
            else:
                self._points = points
                if prefer_writable:
                    self._kept_read_only = frozenset(
                        str(point.source)
                        for point in points
                        if point.source and self._safety_relevant(point.source)
                    )
                return await self.async_step_confirm()
        return self.async_show_form(
            step_id="user",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_ENTITY_ID): EntitySelector(
                        EntitySelectorConfig(domain=supported_domains(), multiple=True)
                    ),
                    probatio.Required(CONF_WRITABLE, default=False): BooleanSelector(),
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _plan(self, entity_ids: list[str], prefer_writable: bool) -> tuple[list[Point], list[str]]:
        """One point per entity at the next free address of its area, after the previous one.

        The existing table is compiled once; each area keeps a cursor past its last new row,
        so planning is linear in the number of entities. Locks, alarm panels and door-like
        covers go to a read-only area even when writable areas are preferred.
        """
        existing = RegisterMap(self._existing())
        cursors: dict[Area, int] = {}
        new: list[Point] = []
        unsupported: list[str] = []
        for entity_id in entity_ids:
            binding = get_binding(split_entity_id(entity_id)[0])
            areas = binding.areas(None) if binding is not None else []
            if binding is None or not areas:
                unsupported.append(entity_id)
                continue
            safety = self._safety_relevant(entity_id)
            area = _pick_area(binding, areas, prefer_writable and not safety)
            data_type = binding.default_data_type(area, None, self._state(entity_id))
            count = data_type.fixed_register_count or 1
            address = existing.next_free_address(area, count, cursors.get(area, 0))
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


def _pick_area(
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


class ImportSubentryFlow(_PreviewedTableFlow):
    """Paste a table in the register map's CSV or JSON format; all rows or none are added."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Paste the text; it is parsed and validated against the existing table."""
        if self._device_id is None:
            return await self.async_step_device()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"details": ""}
        text = ""
        if user_input is not None:
            text = user_input["text"]
            if len(text) > MAX_IMPORT_CHARS:
                errors["text"] = "import_too_large"
                placeholders["size"] = f"{len(text):,}"
                placeholders["max_size"] = f"{MAX_IMPORT_CHARS:,}"
            elif details := await self._async_parse(text):
                # An error alert shows one run of text: the list goes into the description
                # (Markdown), and the pasted text stays in the field to be corrected.
                errors["text"] = "import_invalid"
                shown = details[:ERROR_DETAILS]
                if len(details) > ERROR_DETAILS:
                    shown.append(f"… {len(details) - ERROR_DETAILS} more")
                placeholders["details"] = "\n\n" + "\n".join(f"- {line}" for line in shown)
            else:
                return await self.async_step_confirm()
        return self.async_show_form(
            step_id="user",
            data_schema=probatio.Schema(
                {
                    probatio.Required("text", description=_suggested(text)): TextSelector(
                        TextSelectorConfig(multiline=True)
                    )
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_parse(self, text: str) -> list[str]:
        """Parse and check; return problems as lines (empty when all is well).

        Parsing runs in the executor: 20 000 CSV rows take about a second, which the event
        loop must not wait for. The checks against bindings and the table stay here.
        """
        try:
            points = await self.hass.async_add_executor_job(_read_table, text)
        except ImportFormatError as err:
            return [f"line {line}: {message}" for line, message in err.errors]
        if not points:
            return ["no rows"]
        problems: list[str] = []
        for number, point in enumerate(points, start=1):
            where = f"row {number} ({point_title(point)})"
            entity_id, attribute = split_source(point.source)
            if entity_id is None:
                if _owned_text(point):
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
        existing = self._existing()
        try:
            RegisterMap([*existing, *points])
        except MapValidationError as err:
            return [_import_problem(error, existing, points) for error in err.errors]
        self._points = points
        return []


# --- devices ---------------------------------------------------------------------------------


def _device_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    """The device form: name, unit ids, policies and the FC43 identification overrides."""
    units = defaults.get(CONF_UNIT_IDS)
    listed = [] if units is None else [u for u in units if u not in (0, 255)]
    identification = defaults.get(CONF_IDENTIFICATION) or {}
    stale_after = defaults.get(CONF_STALE_AFTER)
    return probatio.Schema(
        {
            probatio.Required(CONF_NAME, default=defaults.get(CONF_NAME, "")): str,
            probatio.Optional(
                CONF_UNIT_IDS, description=_suggested(format_unit_ids(listed))
            ): TextSelector(),
            probatio.Required(
                CONF_ANSWER_0, default=bool(units is not None and 0 in units)
            ): BooleanSelector(),
            probatio.Required(
                CONF_ANSWER_255, default=bool(units is not None and 255 in units)
            ): BooleanSelector(),
            probatio.Required(
                CONF_UNMAPPED, default=defaults.get(CONF_UNMAPPED, DEFAULT_UNMAPPED)
            ): _unmapped_selector(),
            probatio.Required(
                CONF_READ_ONLY, default=bool(defaults.get(CONF_READ_ONLY, False))
            ): BooleanSelector(),
            probatio.Optional(CONF_STALE_AFTER, description=_suggested(stale_after)): _box(
                min=0, max=86400, step=1, unit_of_measurement="s"
            ),
            probatio.Required(CONF_IDENTIFICATION): section(
                probatio.Schema(
                    {
                        probatio.Optional(
                            field, description=_suggested(identification.get(field))
                        ): str
                        for field in IDENTIFICATION_FIELDS
                    }
                ),
                {"collapsed": not identification},
            ),
        }
    )


class DeviceSubentryFlow(_RowFlow):
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
            defaults = data
        return self.async_show_form(
            step_id="user",
            data_schema=_device_schema(defaults),
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
            defaults = data
        return self.async_show_form(
            step_id="settings",
            data_schema=_device_schema(defaults),
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
        data = device_data(
            name=name,
            unit_ids=unit_ids,
            unmapped=str(user_input[CONF_UNMAPPED]),
            read_only=bool(user_input[CONF_READ_ONLY]),
            stale_after=float(stale_after) if stale_after else None,
            identification=identification,
        )
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
