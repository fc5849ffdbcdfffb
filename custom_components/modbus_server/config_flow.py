"""Config flow: the server entry (user, reconfigure); its devices and rows are in flows/.

A server is created (and reconfigured) in two steps: how clients reach it (the transport),
then a form with that transport's fields only; `server_form.py` has those fields and checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryData,
    ConfigSubentryFlow,
)
from homeassistant.const import CONF_NAME, CONF_PORT
from homeassistant.core import callback

from .const import (
    CONF_TRANSPORT,
    CONF_UNIT_ID,
    CONF_UNMAPPED,
    DEFAULT_NAME,
    DEFAULT_UNMAPPED,
    DOMAIN,
    SUBENTRY_DEVICE,
    TRANSPORT_RTU_OVER_TCP,
    TRANSPORT_RTU_OVER_TCP_DIAL,
    TRANSPORT_SERIAL,
    TRANSPORT_TCP,
    TRANSPORT_TLS,
    TRANSPORT_UDP,
)
from .device_rules import device_data, first_device_name
from .flows import SUBENTRY_FLOWS, TLS_SUBENTRY_FLOWS
from .server_form import (
    KEPT_SETTINGS,
    ServerForm,
    protocol_of,
    redisplayed,
    serial_ports,
    server_schema,
    transport_schema,
)
from .transports import LISTENING_TRANSPORTS, transport_of


class ModbusServerConfigFlow(ConfigFlow, domain=DOMAIN):
    """One config entry per Modbus server: its transport first, then that transport's form."""

    VERSION = 2
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """No transport chosen yet."""
        self._transport = TRANSPORT_TCP
        self._form: ServerForm | None = None

    @property
    def _server_form(self) -> ServerForm:
        """The checks of the server form (one per flow: it remembers a confirmation)."""
        if self._form is None:
            self._form = ServerForm(
                self.hass, lambda: self._async_current_entries(include_ignore=False)
            )
        return self._form

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Devices, and their rows: one at a time, many entities at once, or an import.

        A TLS server also issues client certificates (when it generated its CA).
        """
        if transport_of(config_entry.data) == TRANSPORT_TLS:
            return TLS_SUBENTRY_FLOWS
        return SUBENTRY_FLOWS

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create a server: how it is reached, then that transport's settings (tested)."""
        if user_input is not None:
            self._transport = str(user_input[CONF_TRANSPORT])
            return await self._async_step_settings(self._transport, None)
        return self.async_show_form(step_id="user", data_schema=transport_schema(TRANSPORT_TCP))

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server: the same two steps; its devices and their tables are kept."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            self._transport = str(user_input[CONF_TRANSPORT])
            return await self._async_step_settings(self._transport, None)
        return self.async_show_form(
            step_id="reconfigure", data_schema=transport_schema(transport_of(entry.data))
        )

    async def async_step_tcp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Modbus TCP settings."""
        return await self._async_step_settings(TRANSPORT_TCP, user_input)

    async def async_step_udp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Modbus UDP settings."""
        return await self._async_step_settings(TRANSPORT_UDP, user_input)

    async def async_step_rtu_over_tcp(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """RTU over TCP, listening for the gateway."""
        return await self._async_step_settings(TRANSPORT_RTU_OVER_TCP, user_input)

    async def async_step_rtu_over_tcp_dial(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """RTU over TCP, dialling the gateway."""
        return await self._async_step_settings(TRANSPORT_RTU_OVER_TCP_DIAL, user_input)

    async def async_step_serial(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Serial RTU settings."""
        return await self._async_step_settings(TRANSPORT_SERIAL, user_input)

    async def async_step_tls(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Modbus/TCP Security settings."""
        return await self._async_step_settings(TRANSPORT_TLS, user_input)

    async def _async_step_settings(
        self, transport: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """The transport's form: checked on submit, shown again with errors on the fields."""
        entry = self._get_reconfigure_entry() if self.source == SOURCE_RECONFIGURE else None
        form = self._server_form
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data, errors, placeholders = await form.async_validate(transport, user_input, entry)
            if not errors:
                return self._async_finish(data, user_input, entry)
            defaults: Mapping[str, Any] = redisplayed(user_input, data)
        elif entry is not None:
            defaults = dict(entry.data)
            if transport in LISTENING_TRANSPORTS and (
                CONF_PORT not in defaults
                or protocol_of(transport_of(entry.data)) != protocol_of(transport)
            ):
                defaults[CONF_PORT] = await form.async_suggest_port(transport, entry.entry_id)
        else:
            defaults = {CONF_NAME: self._unused_name()}
            if transport in LISTENING_TRANSPORTS:
                defaults[CONF_PORT] = await form.async_suggest_port(transport, None)
        ports = None
        if transport == TRANSPORT_SERIAL:
            ports = await self.hass.async_add_executor_job(serial_ports)
        return self.async_show_form(
            step_id=transport,
            data_schema=server_schema(transport, defaults, first_device=entry is None, ports=ports),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _async_finish(
        self, data: dict[str, Any], user_input: Mapping[str, Any], entry: ConfigEntry | None
    ) -> ConfigFlowResult:
        """Create the server with its first device, or save the changed settings."""
        if entry is not None:
            # Settings of other forms (e.g. the TLS NULL role) are kept.
            data = {**{k: v for k, v in entry.data.items() if k in KEPT_SETTINGS}, **data}
            if entry.state is ConfigEntryState.LOADED:
                # The update listener reloads the entry (once) with the new settings.
                return self.async_update_and_abort(entry, title=data[CONF_NAME], data=data)
            # Not running (e.g. the port was refused): no listener, so set up again here.
            return self.async_update_reload_and_abort(entry, title=data[CONF_NAME], data=data)
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
