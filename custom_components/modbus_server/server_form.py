"""The server entry's form: the transport choice, then only that transport's fields.

`config_flow.py` shows the steps; this module knows which fields each transport has, their
selectors and how each is checked: a bind in the executor for a listening port (TCP or UDP,
as the transport will use it), an exclusive open of a serial port, the PEM of a TLS server.
A problem is reported on its field and the form is shown again with what was typed.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any, Final

import probatio
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    BIND_ALL,
    BIND_ALL_IPV4,
    BIND_ALL_IPV6,
    CONF_ALLOWED_CLIENTS,
    CONF_BAUDRATE,
    CONF_BIND_ADDRESS,
    CONF_GATEWAY_HOST,
    CONF_GATEWAY_PORT,
    CONF_IDLE_TIMEOUT,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_CONNECTIONS_PER_HOST,
    CONF_PARITY,
    CONF_READ_ONLY,
    CONF_SERIAL_PORT,
    CONF_STOPBITS,
    CONF_TLS_CA_KEY,
    CONF_TLS_CERTIFICATE,
    CONF_TLS_CLIENT_CA,
    CONF_TLS_KEY,
    CONF_TLS_NULL_ROLE,
    CONF_TRANSPORT,
    CONF_TURNAROUND,
    CONF_UNIT_ID,
    CONF_UNKNOWN_UNIT,
    CONF_UNMAPPED,
    CONF_WRITE_TIMEOUT,
    DEFAULT_BAUDRATE,
    DEFAULT_BIND_ADDRESS,
    DEFAULT_GATEWAY_PORT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_HOST,
    DEFAULT_NAME,
    DEFAULT_PARITY,
    DEFAULT_PORT,
    DEFAULT_STOPBITS,
    DEFAULT_TLS_NULL_ROLE,
    DEFAULT_TLS_PORT,
    DEFAULT_UNKNOWN_UNIT,
    DEFAULT_UNMAPPED,
    DEFAULT_WRITE_TIMEOUT,
    TRANSPORT_RTU_OVER_TCP,
    TRANSPORT_RTU_OVER_TCP_DIAL,
    TRANSPORT_SERIAL,
    TRANSPORT_TCP,
    TRANSPORT_TLS,
    TRANSPORT_UDP,
    TRANSPORTS,
)
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
from .modbus import Rights, UnknownUnit
from .modbus.device_id import MAX_OBJECT_LENGTH
from .modbus.transport.serial import BAUD_RATES, SerialSettings, open_serial
from .pki import generate_server_pki, server_hosts
from .tls_pem import PemError, check_pem, pem_text
from .transports import (
    LISTENING_TRANSPORTS,
    serial_error_key,
    serial_settings,
    tls_context,
    transport_of,
)

WRITE_TIMEOUT_RANGE: Final = (0.5, 60.0)
"""Seconds a client's write may wait for its service calls (the form's bounds)."""
TURNAROUND_MAX_MS: Final = 1000

NETWORK_FIELDS: Final = (CONF_BIND_ADDRESS, CONF_PORT)
SERIAL_FIELDS: Final = (
    CONF_SERIAL_PORT,
    CONF_BAUDRATE,
    CONF_PARITY,
    CONF_STOPBITS,
    CONF_TURNAROUND,
)
GATEWAY_FIELDS: Final = (CONF_GATEWAY_HOST, CONF_GATEWAY_PORT)
TLS_FIELDS: Final = (CONF_TLS_CERTIFICATE, CONF_TLS_KEY, CONF_TLS_CLIENT_CA)
CONF_TLS_GENERATE: Final = "tls_generate"
"""TLS form: generate a CA and a server certificate into the PEM fields (not stored)."""
CONNECTION_FIELDS: Final = (CONF_MAX_CONNECTIONS, CONF_MAX_CONNECTIONS_PER_HOST, CONF_IDLE_TIMEOUT)

FIELDS: Final[dict[str, tuple[str, ...]]] = {
    TRANSPORT_TCP: (*NETWORK_FIELDS, *CONNECTION_FIELDS, CONF_ALLOWED_CLIENTS),
    TRANSPORT_TLS: (
        *NETWORK_FIELDS,
        CONF_TLS_GENERATE,
        *TLS_FIELDS,
        CONF_TLS_NULL_ROLE,
        *CONNECTION_FIELDS,
        CONF_ALLOWED_CLIENTS,
    ),
    TRANSPORT_UDP: (*NETWORK_FIELDS, CONF_ALLOWED_CLIENTS),
    TRANSPORT_RTU_OVER_TCP: (*NETWORK_FIELDS, CONF_MAX_CONNECTIONS, CONF_ALLOWED_CLIENTS),
    TRANSPORT_RTU_OVER_TCP_DIAL: GATEWAY_FIELDS,
    TRANSPORT_SERIAL: SERIAL_FIELDS,
}
"""The transport's own fields, in form order (name first, the common ones after)."""

BUS_TRANSPORTS: Final = frozenset(
    {TRANSPORT_SERIAL, TRANSPORT_RTU_OVER_TCP, TRANSPORT_RTU_OVER_TCP_DIAL}
)
"""RTU on a bus with other slaves: a request for another unit id is theirs (default silent)."""

KEPT_SETTINGS: Final = frozenset({CONF_TLS_NULL_ROLE})
"""Entry settings set by other forms, kept when the server form saves."""

PEM_FIELD: Final = {
    "certificate": CONF_TLS_CERTIFICATE,
    "key": CONF_TLS_KEY,
    "client_ca": CONF_TLS_CLIENT_CA,
}
_SERIAL_GLOBS: Final = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyAMA*", "/dev/ttyS*")
BY_ID: Final = "/dev/serial/by-id"


def default_port(transport: str) -> int:
    """The port a new server of this transport is suggested (from here upwards)."""
    return DEFAULT_TLS_PORT if transport == TRANSPORT_TLS else DEFAULT_PORT


def protocol_of(transport: str) -> str:
    """Which port numbers a listening transport competes for: "udp" or "tcp"."""
    return "udp" if transport == TRANSPORT_UDP else "tcp"


def serial_ports() -> list[SelectOptionDict]:
    """The host's serial ports: stable by-id paths first, then ttyUSB, ttyACM, ttyAMA, ttyS.

    A device reached by a by-id path is not listed again under its kernel name (which can
    change at the next boot). ttyS ports are listed only where the kernel has a device
    behind them (most PCs have 4 to 32 ttyS names and no hardware). Blocking: executor.
    """
    options: list[SelectOptionDict] = []
    seen: set[str] = set()
    for path in sorted(glob.glob(os.path.join(BY_ID, "*"))):
        target = os.path.realpath(path)
        seen.add(target)
        options.append({"value": path, "label": f"{os.path.basename(path)} ({target})"})
    for pattern in _SERIAL_GLOBS:
        for path in sorted(glob.glob(pattern), key=_natural):
            name = os.path.basename(path)
            if path in seen:
                continue
            if name.startswith("ttyS") and not os.path.exists(f"/sys/class/tty/{name}/device"):
                continue
            options.append({"value": path, "label": path})
    return options


def _likely_adapter(ports: list[SelectOptionDict]) -> str:
    """The port to preselect: the first by-id or USB one; none when only UARTs exist.

    A built-in ttyS port is rarely the RS485 adapter: the user picks it knowingly.
    """
    for option in ports:
        value = option["value"]
        if value.startswith(BY_ID) or "ttyUSB" in value or "ttyACM" in value:
            return value
    return ""


def _natural(path: str) -> tuple[str, int]:
    head = path.rstrip("0123456789")
    tail = path[len(head) :]
    return head, int(tail) if tail else -1


def try_bind_udp(bind_address: str, port: int) -> None:
    """Bind (and release) a UDP socket as the UDP listener will; OSError when not possible."""
    host = BIND_ALL_IPV6 if bind_address == BIND_ALL else bind_address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((host, port))


def try_open_serial(settings: SerialSettings) -> None:
    """Open (exclusively) and close the port as the line will; OSError when not possible."""
    os.close(open_serial(settings))


def transport_schema(default: str) -> probatio.Schema:
    """The first step: how the server is reached."""
    return probatio.Schema(
        {
            probatio.Required(CONF_TRANSPORT, default=default): SelectSelector(
                SelectSelectorConfig(
                    options=list(TRANSPORTS),
                    mode=SelectSelectorMode.LIST,
                    translation_key=CONF_TRANSPORT,
                )
            )
        }
    )


def _box(
    minimum: float, maximum: float, step: float = 1, unit: str | None = None
) -> NumberSelector:
    config = NumberSelectorConfig(min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _select(options: list[str], key: str, *, custom: bool = False) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options,
            custom_value=custom,
            mode=SelectSelectorMode.DROPDOWN,
            translation_key=key,
        )
    )


def _pem() -> TextSelector:
    return TextSelector(TextSelectorConfig(multiline=True, type=TextSelectorType.TEXT))


def _field_selectors(ports: list[SelectOptionDict]) -> dict[str, tuple[Any, Any]]:
    """Field -> (default, selector) of each transport field."""
    return {
        CONF_BIND_ADDRESS: (
            DEFAULT_BIND_ADDRESS,
            _select([BIND_ALL_IPV4, BIND_ALL_IPV6, BIND_ALL], CONF_BIND_ADDRESS, custom=True),
        ),
        CONF_PORT: (DEFAULT_PORT, _box(1, 65535)),
        CONF_MAX_CONNECTIONS: (DEFAULT_MAX_CONNECTIONS, _box(1, 1000)),
        CONF_MAX_CONNECTIONS_PER_HOST: (DEFAULT_MAX_CONNECTIONS_PER_HOST, _box(1, 1000)),
        CONF_IDLE_TIMEOUT: (DEFAULT_IDLE_TIMEOUT, _box(0, 86400, unit="s")),
        CONF_ALLOWED_CLIENTS: ([], TextSelector(TextSelectorConfig(multiple=True))),
        CONF_SERIAL_PORT: (
            _likely_adapter(ports),
            SelectSelector(
                SelectSelectorConfig(
                    options=ports, custom_value=True, mode=SelectSelectorMode.DROPDOWN
                )
            ),
        ),
        CONF_BAUDRATE: (
            str(DEFAULT_BAUDRATE),
            SelectSelector(
                SelectSelectorConfig(
                    options=[str(rate) for rate in BAUD_RATES], mode=SelectSelectorMode.DROPDOWN
                )
            ),
        ),
        CONF_PARITY: (DEFAULT_PARITY, _select(["N", "E", "O"], CONF_PARITY)),
        CONF_STOPBITS: (str(DEFAULT_STOPBITS), _select(["1", "2"], CONF_STOPBITS)),
        CONF_TURNAROUND: (0, _box(0, TURNAROUND_MAX_MS, step=0.1, unit="ms")),
        CONF_GATEWAY_HOST: ("", TextSelector()),
        CONF_GATEWAY_PORT: (DEFAULT_GATEWAY_PORT, _box(1, 65535)),
        CONF_TLS_CERTIFICATE: ("", _pem()),
        CONF_TLS_KEY: ("", _pem()),
        CONF_TLS_CLIENT_CA: ("", _pem()),
        CONF_TLS_GENERATE: (False, BooleanSelector()),
        CONF_TLS_NULL_ROLE: (
            DEFAULT_TLS_NULL_ROLE,
            _select([str(rights) for rights in Rights], CONF_TLS_NULL_ROLE),
        ),
    }


def server_schema(
    transport: str,
    defaults: Mapping[str, Any],
    *,
    first_device: bool,
    ports: list[SelectOptionDict] | None = None,
) -> probatio.Schema:
    """The transport's form: name, its own fields, the first device (new servers), the rest.

    `ports`: the serial ports to offer (serial only); a typed path is accepted as well.
    The TLS key is never shown again: on reconfigure its field is empty and keeps the key.
    """
    selectors = _field_selectors(ports or [])
    schema: dict[Any, Any] = {
        probatio.Required(CONF_NAME, default=defaults.get(CONF_NAME, DEFAULT_NAME)): str,
    }
    for key in FIELDS[transport]:
        default, selector = selectors[key]
        value = defaults.get(key, default)
        if key == CONF_PORT and CONF_PORT not in defaults:
            value = default_port(transport)
        if key in (CONF_BAUDRATE, CONF_STOPBITS):
            value = str(value)
        if key in TLS_FIELDS or (key == CONF_SERIAL_PORT and not value):
            # PEM: suggested, not a default, so an empty key field means "keep the stored one"
            shown = "" if key == CONF_TLS_KEY else value
            schema[probatio.Optional(key, description={"suggested_value": shown})] = selector
        elif key == CONF_ALLOWED_CLIENTS:
            schema[probatio.Optional(key, default=list(value))] = selector
        else:
            schema[probatio.Required(key, default=value)] = selector
    if first_device:
        unit_id = defaults.get(CONF_UNIT_ID)
        schema[
            probatio.Optional(
                CONF_UNIT_ID,
                description={"suggested_value": unit_id} if unit_id is not None else None,
            )
        ] = _box(0, 255)
        schema[
            probatio.Required(CONF_UNMAPPED, default=defaults.get(CONF_UNMAPPED, DEFAULT_UNMAPPED))
        ] = unmapped_selector()
    unknown_default = "silent" if transport in BUS_TRANSPORTS else DEFAULT_UNKNOWN_UNIT
    if transport_of(defaults) != transport:
        defaults = {k: v for k, v in defaults.items() if k != CONF_UNKNOWN_UNIT}
    schema.update(
        {
            probatio.Required(
                CONF_WRITE_TIMEOUT, default=defaults.get(CONF_WRITE_TIMEOUT, DEFAULT_WRITE_TIMEOUT)
            ): _box(*WRITE_TIMEOUT_RANGE, step=0.1, unit="s"),
            probatio.Required(
                CONF_UNKNOWN_UNIT, default=defaults.get(CONF_UNKNOWN_UNIT, unknown_default)
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[str(choice) for choice in UnknownUnit],
                    translation_key=CONF_UNKNOWN_UNIT,
                )
            ),
            probatio.Required(
                CONF_READ_ONLY, default=defaults.get(CONF_READ_ONLY, False)
            ): BooleanSelector(),
        }
    )
    return probatio.Schema(schema)


def redisplayed(user_input: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults of a refused form: the normalised values, but the allow-list and PEM as typed.

    The normalised list drops the entries that are not addresses, which are exactly the
    ones the error asks to correct; a PEM path stays a path. The key is never shown again.
    """
    shown = {**user_input, **data}
    shown[CONF_ALLOWED_CLIENTS] = list(user_input.get(CONF_ALLOWED_CLIENTS, []))
    for key in (CONF_TLS_CERTIFICATE, CONF_TLS_CLIENT_CA):
        if key in user_input:
            shown[key] = user_input[key]
    shown.pop(CONF_TLS_KEY, None)
    return shown


class ServerForm:
    """Checks a submitted server form; remembers a confirmed catch-all allow-list."""

    def __init__(self, hass: HomeAssistant, entries: Callable[[], list[ConfigEntry]]) -> None:
        """`entries`: the integration's current server entries (for taken ports)."""
        self.hass = hass
        self._entries = entries
        self._confirmed_catch_all: list[str] = []

    def taken_ports(self, transport: str, exclude: str | None) -> set[int]:
        """Ports the other server entries listen on, of the same protocol (TCP or UDP)."""
        protocol = protocol_of(transport)
        return {
            int(entry.data[CONF_PORT])
            for entry in self._entries()
            if entry.entry_id != exclude
            and CONF_PORT in entry.data
            and transport_of(entry.data) in LISTENING_TRANSPORTS
            and protocol_of(transport_of(entry.data)) == protocol
        }

    async def async_free_port(
        self, transport: str, bind: str, start: int, taken: set[int]
    ) -> int | None:
        """The first free port from `start`, else from 5020; None when none is found."""
        for first in dict.fromkeys((start, max(start, UNPRIVILEGED_PORT))):
            port = await self.hass.async_add_executor_job(_next_free, transport, bind, first, taken)
            if port is not None:
                return port
        return None

    async def async_suggest_port(self, transport: str, exclude: str | None) -> int:
        """The first free port from the transport's default (5020 up when 502 is refused)."""
        start = default_port(transport)
        taken = self.taken_ports(transport, exclude)
        return await self.async_free_port(transport, BIND_ALL_IPV4, start, taken) or start

    async def async_validate(
        self, transport: str, user_input: Mapping[str, Any], entry: ConfigEntry | None
    ) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
        """Normalise the form; return (data, errors by field, description placeholders)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        data: dict[str, Any] = {
            CONF_TRANSPORT: transport,
            CONF_NAME: str(user_input[CONF_NAME]).strip() or DEFAULT_NAME,
            CONF_WRITE_TIMEOUT: float(user_input.get(CONF_WRITE_TIMEOUT, DEFAULT_WRITE_TIMEOUT)),
            CONF_UNKNOWN_UNIT: str(user_input.get(CONF_UNKNOWN_UNIT, DEFAULT_UNKNOWN_UNIT)),
            CONF_READ_ONLY: bool(user_input.get(CONF_READ_ONLY, False)),
        }
        if identification_too_long(data[CONF_NAME]):
            errors[CONF_NAME] = "name_too_long"
            placeholders["max_bytes"] = str(MAX_OBJECT_LENGTH)
        fields = FIELDS[transport]
        if CONF_MAX_CONNECTIONS in fields:
            data[CONF_MAX_CONNECTIONS] = int(
                user_input.get(CONF_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS)
            )
        if CONF_MAX_CONNECTIONS_PER_HOST in fields:
            data[CONF_MAX_CONNECTIONS_PER_HOST] = int(
                user_input.get(CONF_MAX_CONNECTIONS_PER_HOST, DEFAULT_MAX_CONNECTIONS_PER_HOST)
            )
            data[CONF_IDLE_TIMEOUT] = int(user_input.get(CONF_IDLE_TIMEOUT, DEFAULT_IDLE_TIMEOUT))
            if data[CONF_MAX_CONNECTIONS_PER_HOST] > data[CONF_MAX_CONNECTIONS]:
                errors[CONF_MAX_CONNECTIONS_PER_HOST] = "per_host_above_max"
        if CONF_ALLOWED_CLIENTS in fields:
            self._check_allowed(user_input, entry, data, errors, placeholders)
        if CONF_GATEWAY_HOST in fields:
            data[CONF_GATEWAY_HOST] = str(user_input.get(CONF_GATEWAY_HOST, "")).strip()
            data[CONF_GATEWAY_PORT] = int(user_input.get(CONF_GATEWAY_PORT, DEFAULT_GATEWAY_PORT))
            if not data[CONF_GATEWAY_HOST] or any(c.isspace() for c in data[CONF_GATEWAY_HOST]):
                errors[CONF_GATEWAY_HOST] = "invalid_gateway_host"
        if transport == TRANSPORT_SERIAL:
            await self._async_check_serial(user_input, entry, data, errors, placeholders)
        if transport == TRANSPORT_TLS:
            await self._async_check_tls(user_input, entry, data, errors)
        if CONF_BIND_ADDRESS in fields:
            bind = str(user_input[CONF_BIND_ADDRESS]).strip()
            data[CONF_BIND_ADDRESS] = bind
            data[CONF_PORT] = int(user_input[CONF_PORT])
            if bind != BIND_ALL:
                try:
                    ipaddress.ip_address(bind)
                except ValueError:
                    errors[CONF_BIND_ADDRESS] = "invalid_bind_address"
            if not errors:
                await self._async_check_port(transport, entry, data, errors, placeholders)
        return data, errors, placeholders

    def _check_allowed(
        self,
        user_input: Mapping[str, Any],
        entry: ConfigEntry | None,
        data: dict[str, Any],
        errors: dict[str, str],
        placeholders: dict[str, str],
    ) -> None:
        allowed, invalid = parse_allowed_clients(user_input.get(CONF_ALLOWED_CLIENTS, []))
        data[CONF_ALLOWED_CLIENTS] = allowed
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

    async def _async_check_port(
        self,
        transport: str,
        entry: ConfigEntry | None,
        data: dict[str, Any],
        errors: dict[str, str],
        placeholders: dict[str, str],
    ) -> None:
        bind, port = data[CONF_BIND_ADDRESS], data[CONF_PORT]
        exclude = entry.entry_id if entry is not None else None
        taken = self.taken_ports(transport, exclude)
        current: Mapping[str, Any] = entry.data if entry is not None else {}
        same = (
            current.get(CONF_PORT) == port
            and protocol_of(transport_of(current)) == protocol_of(transport)
            and transport_of(current) in LISTENING_TRANSPORTS
        )
        # This entry's own running server may be what holds the port (e.g. moving it from
        # 127.0.0.1 to all interfaces): "in use" then proves nothing, the reload stops it
        # first. Should another program hold the new address, setup retries (not ready).
        own_port = same and entry is not None and entry.state is ConfigEntryState.LOADED
        if port in taken:
            errors[CONF_PORT] = "port_configured"
        elif not (same and current.get(CONF_BIND_ADDRESS) == bind):
            bind_test = try_bind_udp if transport == TRANSPORT_UDP else try_bind
            try:
                await self.hass.async_add_executor_job(bind_test, bind, port)
            except OSError as err:
                key = bind_error_key(err)
                if not (own_port and key == "port_in_use"):
                    errors[CONF_BIND_ADDRESS if key == "address_not_available" else CONF_PORT] = key
        if errors.get(CONF_PORT):
            denied = errors[CONF_PORT] == "permission_denied" and port < UNPRIVILEGED_PORT
            start = UNPRIVILEGED_PORT if denied else port + 1
            suggestion = await self.async_free_port(transport, bind, start, taken)
            # The field now shows the suggestion: the message names the refused port too.
            placeholders["port"] = str(port)
            placeholders["suggested_port"] = str(suggestion) if suggestion else "-"
            if suggestion is not None:
                data[CONF_PORT] = suggestion

    async def _async_check_serial(
        self,
        user_input: Mapping[str, Any],
        entry: ConfigEntry | None,
        data: dict[str, Any],
        errors: dict[str, str],
        placeholders: dict[str, str],
    ) -> None:
        data[CONF_SERIAL_PORT] = str(user_input.get(CONF_SERIAL_PORT) or "").strip()
        data[CONF_BAUDRATE] = int(user_input.get(CONF_BAUDRATE, DEFAULT_BAUDRATE))
        data[CONF_PARITY] = str(user_input.get(CONF_PARITY, DEFAULT_PARITY))
        data[CONF_STOPBITS] = int(user_input.get(CONF_STOPBITS, DEFAULT_STOPBITS))
        data[CONF_TURNAROUND] = float(user_input.get(CONF_TURNAROUND) or 0)
        if not data[CONF_SERIAL_PORT]:
            errors[CONF_SERIAL_PORT] = "serial_port_required"
            return
        try:
            settings = serial_settings(data)
        except ValueError:
            errors[CONF_TURNAROUND] = "turnaround_too_short"
            rate = data[CONF_BAUDRATE]
            placeholders["minimum_ms"] = f"{SerialSettings('-', baudrate=rate).silence * 1000:.2f}"
            return
        for other in self._entries():
            if other is not entry and other.data.get(CONF_SERIAL_PORT) == settings.port:
                errors[CONF_SERIAL_PORT] = "serial_port_configured"
                return
        current = entry.data if entry is not None else {}
        if (
            entry is not None
            and entry.state is ConfigEntryState.LOADED
            and current.get(CONF_SERIAL_PORT) == settings.port
        ):
            return  # our own running line holds it; the reload reopens it with the new settings
        try:
            await self.hass.async_add_executor_job(try_open_serial, settings)
        except OSError as err:
            errors[CONF_SERIAL_PORT] = serial_error_key(err)
            placeholders["error"] = err.strerror or str(err)

    async def _async_check_tls(
        self,
        user_input: Mapping[str, Any],
        entry: ConfigEntry | None,
        data: dict[str, Any],
        errors: dict[str, str],
    ) -> None:
        stored = entry.data if entry is not None else {}
        data[CONF_TLS_NULL_ROLE] = str(user_input.get(CONF_TLS_NULL_ROLE, DEFAULT_TLS_NULL_ROLE))
        if user_input.get(CONF_TLS_GENERATE):
            # A new CA (kept, to issue client certificates) and a server certificate it signed.
            hosts = await self.hass.async_add_executor_job(
                server_hosts, str(user_input.get(CONF_BIND_ADDRESS) or "")
            )
            data.update(
                await self.hass.async_add_executor_job(generate_server_pki, data[CONF_NAME], hosts)
            )
            return
        config_dir = self.hass.config.config_dir
        for key in TLS_FIELDS:
            typed = str(user_input.get(key) or "")
            if not typed.strip() and key == CONF_TLS_KEY and stored.get(CONF_TLS_KEY):
                data[key] = stored[CONF_TLS_KEY]  # left empty: keep the stored key
                continue
            if not typed.strip():
                errors[key] = "pem_required"
                continue
            try:
                data[key] = await self.hass.async_add_executor_job(pem_text, typed, config_dir)
            except PemError as err:
                errors[key] = err.key
        if errors:
            return
        found = await self.hass.async_add_executor_job(
            check_pem, data[CONF_TLS_CERTIFICATE], data[CONF_TLS_KEY], data[CONF_TLS_CLIENT_CA]
        )
        for name, key in found.items():
            errors[PEM_FIELD[name]] = key
        if errors:
            return
        try:
            await self.hass.async_add_executor_job(
                tls_context,
                data[CONF_TLS_CERTIFICATE],
                data[CONF_TLS_KEY],
                data[CONF_TLS_CLIENT_CA],
            )
        except OSError, ValueError:  # ssl.SSLError is an OSError; the text may hold key bits
            errors[CONF_TLS_CERTIFICATE] = "tls_unusable"
            return
        if stored.get(CONF_TLS_CA_KEY) and data[CONF_TLS_CLIENT_CA] == stored[CONF_TLS_CLIENT_CA]:
            data[CONF_TLS_CA_KEY] = stored[CONF_TLS_CA_KEY]  # same generated CA: keep its key


def _next_free(transport: str, bind: str, start: int, taken: set[int]) -> int | None:
    if transport != TRANSPORT_UDP:
        return next_free_port(bind, start, taken)
    for port in range(start, min(start + 100, 65536)):
        if port in taken:
            continue
        try:
            try_bind_udp(bind, port)
        except OSError:
            continue
        return port
    return None
