"""Config flow: the server entry (user, reconfigure); its devices and rows are in flows/."""

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
)
from homeassistant.const import CONF_NAME, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)

from .const import (
    BIND_ALL,
    BIND_ALL_IPV4,
    BIND_ALL_IPV6,
    CONF_ALLOWED_CLIENTS,
    CONF_BIND_ADDRESS,
    CONF_IDLE_TIMEOUT,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_CONNECTIONS_PER_HOST,
    CONF_READ_ONLY,
    CONF_UNIT_ID,
    CONF_UNKNOWN_UNIT,
    CONF_UNMAPPED,
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
    SUBENTRY_DEVICE,
)
from .device_rules import device_data, first_device_name
from .flows import SUBENTRY_FLOWS
from .flows.selectors import unmapped_selector
from .helpers import (
    UNPRIVILEGED_PORT,
    bind_error_key,
    catch_all_clients,
    identification_too_long,
    next_free_port,
    parse_allowed_clients,
    try_bind,
)
from .modbus import UnknownUnit
from .modbus.device_id import MAX_OBJECT_LENGTH

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
            ): unmapped_selector(),
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
        return SUBENTRY_FLOWS

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
                name = first_device_name(data[CONF_NAME])
                device = device_data(
                    name=name,
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
                            title=name,
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
