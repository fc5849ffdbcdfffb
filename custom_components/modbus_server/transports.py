"""A server entry's transport: from its settings (entry.data) to the running listener.

The `Server` always does the dispatching (unit ids, devices, live swaps); for TCP and TLS it
also listens, for the others a transport endpoint from `modbus.transport` feeds it. So a
device answers the same way on every transport and `ServerRuntime` swaps devices the same
way. `Listener` hides which endpoint runs: start/stop, where it serves, counters summed
over its clients for the diagnostic entities, and the endpoint's own `diagnostics()`.
"""

from __future__ import annotations

import errno
import os
import ssl
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.const import CONF_PORT

from .const import (
    CONF_ALLOWED_CLIENTS,
    CONF_BAUDRATE,
    CONF_BIND_ADDRESS,
    CONF_GATEWAY_HOST,
    CONF_GATEWAY_PORT,
    CONF_IDLE_TIMEOUT,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_CONNECTIONS_PER_HOST,
    CONF_PARITY,
    CONF_SERIAL_PORT,
    CONF_STOPBITS,
    CONF_TRANSPORT,
    CONF_TURNAROUND,
    CONF_UNKNOWN_UNIT,
    DEFAULT_BAUDRATE,
    DEFAULT_GATEWAY_PORT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_HOST,
    DEFAULT_PARITY,
    DEFAULT_STOPBITS,
    DEFAULT_UNKNOWN_UNIT,
    TRANSPORT_RTU_OVER_TCP,
    TRANSPORT_RTU_OVER_TCP_DIAL,
    TRANSPORT_SERIAL,
    TRANSPORT_TCP,
    TRANSPORT_TLS,
    TRANSPORT_UDP,
    TRANSPORTS,
)
from .helpers import bind_error_key, bind_hosts
from .modbus import Server, UnknownUnit
from .modbus.stats import ClientInfo, Counters, ServerStats
from .modbus.tls import server_context
from .modbus.transport import (
    RtuOverTcpDialer,
    RtuOverTcpListener,
    SerialLine,
    SerialSettings,
    UdpListener,
)

type Endpoint = Server | UdpListener | RtuOverTcpListener | RtuOverTcpDialer | SerialLine

PEER_ACTIVE = 300.0
"""Seconds a UDP peer or a serial master counts as connected after its last answer."""

MODELS: dict[str, str] = {
    TRANSPORT_TCP: "Modbus TCP server",
    TRANSPORT_UDP: "Modbus UDP server",
    TRANSPORT_RTU_OVER_TCP: "Modbus RTU over TCP server",
    TRANSPORT_RTU_OVER_TCP_DIAL: "Modbus RTU over TCP (dialling a gateway)",
    TRANSPORT_SERIAL: "Modbus RTU slave",
    TRANSPORT_TLS: "Modbus/TCP Security server",
}
"""The server device's model: says how it is reached."""

LISTENING_TRANSPORTS = frozenset(
    {TRANSPORT_TCP, TRANSPORT_UDP, TRANSPORT_RTU_OVER_TCP, TRANSPORT_TLS}
)
"""Transports that bind an address and port (bind address, port, allow-list apply)."""

SERIAL_CANNOT_OPEN: Final = "serial_cannot_open"
SERIAL_ERRORS: Final = {
    errno.ENOENT: "serial_port_missing",
    errno.ENODEV: "serial_port_missing",
    errno.ENXIO: "serial_port_missing",
    errno.EBUSY: "serial_port_busy",
    errno.EACCES: "serial_permission_denied",
    errno.EPERM: "serial_permission_denied",
    errno.ENOTTY: "not_a_serial_port",
}
"""errno of a serial port that did not open -> its translation key, else SERIAL_CANNOT_OPEN.

One table for both places that open the port: the server form (`config.error`, on the port
field) and the setup (`exceptions`, the entry's retry message); every key exists in both.
"""


def transport_of(data: Mapping[str, Any]) -> str:
    """The entry's transport; entries from before the choice existed are TCP."""
    transport = str(data.get(CONF_TRANSPORT) or TRANSPORT_TCP)
    if transport not in TRANSPORTS:
        raise ValueError(f"unknown transport {transport!r}")
    return transport


def serial_settings(data: Mapping[str, Any]) -> SerialSettings:
    """The line settings of a serial entry (ValueError on settings a line cannot have).

    The turnaround delay is stored in milliseconds; 0 (or none) means t3.5 at the baud rate.
    """
    turnaround = float(data.get(CONF_TURNAROUND) or 0)
    return SerialSettings(
        str(data[CONF_SERIAL_PORT]),
        baudrate=int(data.get(CONF_BAUDRATE, DEFAULT_BAUDRATE)),
        parity=data.get(CONF_PARITY, DEFAULT_PARITY),
        stopbits=int(data.get(CONF_STOPBITS, DEFAULT_STOPBITS)),  # type: ignore[arg-type]
        turnaround=turnaround / 1000 if turnaround > 0 else None,
    )


def tls_context(certificate: str, key: str, client_ca: str) -> ssl.SSLContext:
    """The Modbus/TCP Security context from PEM text (blocking: run it in the executor).

    `ssl` loads a certificate chain from files only, so the PEM goes to a private temporary
    directory for the load and is removed at once. Raises ssl.SSLError (an OSError) or
    ValueError when the PEM does not load, or the key does not match the certificate.
    """
    with tempfile.TemporaryDirectory(prefix="modbus_server_tls_") as folder:
        paths = []
        for name, text in (("cert.pem", certificate), ("key.pem", key), ("ca.pem", client_ca)):
            path = os.path.join(folder, name)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
            paths.append(path)
        return server_context(paths[0], paths[1], paths[2])


def build_server(data: Mapping[str, Any], tls: ssl.SSLContext | None = None) -> Server:
    """The dispatching server of an entry (listening itself for TCP and TLS)."""
    transport = transport_of(data)
    listens = transport in (TRANSPORT_TCP, TRANSPORT_TLS)
    allow = data.get(CONF_ALLOWED_CLIENTS) if transport in LISTENING_TRANSPORTS else None
    return Server(
        host=bind_hosts(data[CONF_BIND_ADDRESS]) if listens else None,
        port=int(data[CONF_PORT]) if listens else None,
        unknown_unit=UnknownUnit(data.get(CONF_UNKNOWN_UNIT, DEFAULT_UNKNOWN_UNIT)),
        max_connections=int(data.get(CONF_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS)),
        max_connections_per_host=int(
            data.get(CONF_MAX_CONNECTIONS_PER_HOST, DEFAULT_MAX_CONNECTIONS_PER_HOST)
        ),
        idle_timeout=float(data.get(CONF_IDLE_TIMEOUT) or 0) or None,
        allowed_clients=allow or None,
        tls=tls,
    )


def build_listener(data: Mapping[str, Any], tls: ssl.SSLContext | None = None) -> Listener:
    """The entry's listener, not started (ValueError on settings that cannot run).

    `tls`: the context from `tls_context` for a TLS entry (built beforehand in the executor).
    """
    transport = transport_of(data)
    if transport == TRANSPORT_TLS and tls is None:
        raise ValueError("a TLS server needs its TLS context")
    server = build_server(data, tls if transport == TRANSPORT_TLS else None)
    endpoint: Endpoint
    if transport in (TRANSPORT_TCP, TRANSPORT_TLS):
        endpoint = server
    elif transport == TRANSPORT_UDP:
        endpoint = UdpListener(server, _single_host(data[CONF_BIND_ADDRESS]), int(data[CONF_PORT]))
    elif transport == TRANSPORT_RTU_OVER_TCP:
        endpoint = RtuOverTcpListener(
            server,
            bind_hosts(data[CONF_BIND_ADDRESS]),
            int(data[CONF_PORT]),
            max_connections=int(data.get(CONF_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS)),
        )
    elif transport == TRANSPORT_RTU_OVER_TCP_DIAL:
        endpoint = RtuOverTcpDialer(
            server,
            str(data[CONF_GATEWAY_HOST]),
            int(data.get(CONF_GATEWAY_PORT, DEFAULT_GATEWAY_PORT)),
        )
    else:
        endpoint = SerialLine(server, serial_settings(data))
    return Listener(transport, server, endpoint)


def _single_host(bind_address: str) -> str | None:
    """UDP binds one socket: "all" (IPv4 and IPv6) becomes the IPv6 wildcard, dual-stack."""
    hosts = bind_hosts(bind_address)
    return "::" if hosts is None else str(hosts)


@dataclass
class Listener:
    """What a server entry runs: the dispatching `server` and the `endpoint` it is fed by."""

    transport: str
    server: Server
    endpoint: Endpoint

    async def start(self) -> None:
        """Bind, open the port or start dialling (OSError when binding or opening fails)."""
        await self.endpoint.start()

    async def stop(self) -> None:
        """Stop serving: every client is closed, the port or serial line is free."""
        await self.endpoint.stop()

    @property
    def where(self) -> str:
        """Where it serves, for logs and messages: `0.0.0.0:502`, a serial line, a gateway."""
        endpoint = self.endpoint
        if isinstance(endpoint, Server):
            return ", ".join(f"{host}:{port}" for host, port in endpoint.addresses) or (
                f"port {endpoint.port}"
            )
        if isinstance(endpoint, SerialLine):
            return endpoint.settings.label
        if isinstance(endpoint, RtuOverTcpDialer):
            return f"gateway {endpoint.host}:{endpoint.port}"
        return f"port {endpoint.port}"

    @property
    def port(self) -> int | None:
        """The bound port of a listening transport (None for serial and dialling)."""
        endpoint = self.endpoint
        if isinstance(endpoint, (Server, UdpListener, RtuOverTcpListener)):
            return endpoint.port
        return None

    @property
    def connections(self) -> list[ClientInfo]:
        """The clients now: TCP connections, gateways, UDP peers heard lately, the serial line."""
        endpoint = self.endpoint
        if isinstance(endpoint, Server):
            return endpoint.connections
        if isinstance(endpoint, RtuOverTcpListener):
            return endpoint.connections
        if isinstance(endpoint, RtuOverTcpDialer):
            return [] if endpoint.client is None else [endpoint.client]
        if isinstance(endpoint, UdpListener):
            return _recent(endpoint.clients)
        return _recent([endpoint.client]) if endpoint.is_serving else []

    @property
    def stats(self) -> ServerStats:
        """Counters since start, of all clients past and present (for the monitor)."""
        endpoint = self.endpoint
        if isinstance(endpoint, Server):
            return endpoint.stats
        if isinstance(endpoint, UdpListener):
            return ServerStats(
                counters=endpoint.counters,
                connections=len(self.connections),
                connections_total=len(endpoint.clients),
                connections_rejected=endpoint.datagrams_refused,
            )
        total = Counters()
        connections_total = 0
        if isinstance(endpoint, SerialLine):
            total.add(endpoint.client.counters)
            connections_total = 1
        else:
            total.add(endpoint.closed_counters)
            for client in self.connections:
                total.add(client.counters)
        if isinstance(endpoint, RtuOverTcpDialer):
            connections_total = endpoint.connects
        elif isinstance(endpoint, RtuOverTcpListener):
            connections_total = endpoint.connections_total
        return ServerStats(
            counters=total,
            connections=len(self.connections),
            connections_total=connections_total,
            connections_rejected=getattr(endpoint, "connections_rejected", 0),
        )

    def diagnostics(self) -> dict[str, object]:
        """The transport's own state and counters (frames, CRC errors, gateway state, ...)."""
        endpoint = self.endpoint
        if isinstance(endpoint, Server):
            # Its counters and connections are the diagnostics' own "counters"/"connections".
            return {
                "transport": self.transport,
                "listening": [list(address) for address in endpoint.addresses],
            }
        return {"kind": self.transport, **endpoint.diagnostics()}


def _recent(clients: list[ClientInfo]) -> list[ClientInfo]:
    """The clients answered within PEER_ACTIVE (UDP and a serial line have no connections)."""
    since = time.time() - PEER_ACTIVE
    return [client for client in clients if (client.last_request or 0) >= since]


def serial_error_key(err: OSError) -> str:
    """Translation key of a serial port that did not open (see `SERIAL_ERRORS`)."""
    return SERIAL_ERRORS.get(err.errno or 0, SERIAL_CANNOT_OPEN)


def start_error_key(transport: str, err: OSError) -> str:
    """Translation key of a failed start: a bind failure, or a serial port that did not open."""
    if transport != TRANSPORT_SERIAL:
        return bind_error_key(err)
    return serial_error_key(err)
