"""Constants of the Modbus Server integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "modbus_server"
LOGGER = logging.getLogger(__package__)

# Server entry settings (entry.data).
CONF_BIND_ADDRESS: Final = "bind_address"
CONF_UNIT_ID: Final = "unit_id"
CONF_MAX_CONNECTIONS: Final = "max_connections"
CONF_IDLE_TIMEOUT: Final = "idle_timeout"
CONF_UNMAPPED: Final = "unmapped"
CONF_ALLOWED_CLIENTS: Final = "allowed_clients"
CONF_READ_ONLY: Final = "read_only"
CONF_MAX_CONNECTIONS_PER_HOST: Final = "max_connections_per_host"
CONF_WRITE_TIMEOUT: Final = "write_timeout"
"""Seconds a client's write may take (its service calls) before it is answered 06."""

# Transports
CONF_TRANSPORT: Final = "transport"
TRANSPORT_TCP: Final = "tcp"
TRANSPORT_UDP: Final = "udp"
TRANSPORT_RTU_OVER_TCP: Final = "rtu_over_tcp"
TRANSPORT_RTU_OVER_TCP_DIAL: Final = "rtu_over_tcp_dial"
TRANSPORT_SERIAL: Final = "serial"
TRANSPORT_TLS: Final = "tls"
CONF_SERIAL_PORT: Final = "serial_port"
CONF_BAUDRATE: Final = "baudrate"
CONF_PARITY: Final = "parity"
CONF_STOPBITS: Final = "stopbits"
CONF_TURNAROUND: Final = "turnaround_delay"
CONF_GATEWAY_HOST: Final = "gateway_host"
CONF_GATEWAY_PORT: Final = "gateway_port"

# TLS
CONF_TLS_CERTIFICATE: Final = "tls_certificate"
CONF_TLS_KEY: Final = "tls_key"
CONF_TLS_CLIENT_CA: Final = "tls_client_ca"
CONF_TLS_NULL_ROLE: Final = "tls_null_role"
CONF_TLS_CA_KEY: Final = "tls_ca_key"
"""Server: the private key (PEM) of the CA the integration generated, to issue more certificates."""
DEFAULT_TLS_NULL_ROLE: Final = "read"
"""What a client certificate without a role may do on every device (MB-TCP-Security R-23)."""
SUBENTRY_CLIENT_CERTIFICATE: Final = "client_certificate"
"""A flow (no stored subentry) that issues a client certificate from the generated CA."""

BIND_ALL_IPV4: Final = "0.0.0.0"
BIND_ALL_IPV6: Final = "::"
BIND_ALL: Final = "all"
"""Special bind address value: every IPv4 and IPv6 interface."""

DEFAULT_NAME: Final = "Modbus Server"
DEFAULT_BIND_ADDRESS: Final = BIND_ALL_IPV4
DEFAULT_PORT: Final = 502
DEFAULT_MAX_CONNECTIONS: Final = 32
DEFAULT_IDLE_TIMEOUT: Final = 300
DEFAULT_MAX_CONNECTIONS_PER_HOST: Final = 8
DEFAULT_WRITE_TIMEOUT: Final = 5.0
DEFAULT_UNMAPPED: Final = "error"

# Transport choices (entry.data[CONF_TRANSPORT]; a missing key means TCP, as older entries are).
# rtu_over_tcp: we listen and the gateway connects; rtu_over_tcp_dial: we dial the gateway.
TRANSPORTS: Final = (
    TRANSPORT_TCP,
    TRANSPORT_UDP,
    TRANSPORT_RTU_OVER_TCP,
    TRANSPORT_RTU_OVER_TCP_DIAL,
    TRANSPORT_SERIAL,
    TRANSPORT_TLS,
)
DEFAULT_TLS_PORT: Final = 802
DEFAULT_BAUDRATE: Final = 9600
DEFAULT_PARITY: Final = "E"
DEFAULT_STOPBITS: Final = 1
DEFAULT_GATEWAY_PORT: Final = 8899
"""The EW11's (and many gateways') default TCP port."""

# Config entry version 2: a server owns devices (subentries), each with its table (table_store).
SUBENTRY_DEVICE: Final = "device"
CONF_UNIT_IDS: Final = "unit_ids"
"""Device: the unit ids it answers (a list), or None for every unit id (single device only)."""
CONF_UNKNOWN_UNIT: Final = "unknown_unit"
"""Server: what a request for a unit id no device answers gets ('exception' 0x0B or 'silent')."""
CONF_STALE_AFTER: Final = "stale_after"
"""Device (and row override): seconds without a report after which a source reads unavailable.

Device: None or 0 is off. Row: None (or missing) inherits the device's, 0 is never stale."""
CONF_IDENTIFICATION: Final = "identification"
CONF_ROLES: Final = "roles"
"""Device: {role name: Rights value} for TLS clients; a role not listed has no rights."""
"""Device: FC43 objects that override the defaults (vendor_name, product_code, ...)."""
DEFAULT_UNKNOWN_UNIT: Final = "exception"

# Subentries of the v1 model: one address-table row ("point") each.
SUBENTRY_POINT: Final = "point"
SUBENTRY_BULK: Final = "bulk"
SUBENTRY_IMPORT: Final = "import"

# Keys of a point subentry's data (Point fields plus the source entity).
CONF_AREA: Final = "area"
CONF_ADDRESS: Final = "address"
CONF_DATA_TYPE: Final = "data_type"
CONF_SCALE: Final = "scale"
CONF_OFFSET: Final = "offset"
CONF_WORD_ORDER: Final = "word_order"
CONF_BYTE_ORDER: Final = "byte_order"
CONF_BIT: Final = "bit"
CONF_LENGTH: Final = "length"
CONF_WRITABLE: Final = "writable"
CONF_UNAVAILABLE_VALUE: Final = "unavailable_value"
CONF_UNIT: Final = "unit"
CONF_DESCRIPTION: Final = "description"
CONF_ENTITY_ID: Final = "entity_id"
CONF_ATTRIBUTE: Final = "attribute"
CONF_SOURCE: Final = "source"
CONF_ADVANCED: Final = "advanced"
CONF_WRITE_MODE: Final = "write_mode"
"""Per row: when a client's write calls the service (see bridge.py): one of WRITE_MODES."""
WRITE_MODE_DEFAULT: Final = "default"  # the domain's default (triggers: always; states: on change)
WRITE_MODE_ALWAYS: Final = "always"
WRITE_MODE_ON_CHANGE: Final = "on_change"
WRITE_MODES: Final = (WRITE_MODE_DEFAULT, WRITE_MODE_ALWAYS, WRITE_MODE_ON_CHANGE)

SOURCE_ENTITY: Final = "entity"
SOURCE_OWNED: Final = "owned"

# Services.
SERVICE_EXPORT_REGISTER_MAP: Final = "export_register_map"
SERVICE_SET_VALUE: Final = "set_value"
ATTR_VALUE: Final = "value"

# Fired for every point a Modbus client writes (see bridge.py; described in logbook.py),
# once its call returned; `result` says how it ended.
EVENT_WRITE: Final = "modbus_server_write"
RESULT_APPLIED: Final = "applied"
RESULT_FAILED: Final = "failed"
"""The service call raised (the client got 03 or 04)."""
RESULT_TIMEOUT: Final = "timeout"
"""The call outlived the write deadline (the client got 06; the call may still complete)."""

# Repairs.
ISSUE_PERMISSION_DENIED: Final = "permission_denied"
ISSUE_MISSING_ENTITIES: Final = "missing_entities"
ISSUE_CERTIFICATE_EXPIRES: Final = "certificate_expires"
ISSUE_CERTIFICATE_EXPIRED: Final = "certificate_expired"
CERTIFICATE_WARN_DAYS: Final = 30
"""Days before a TLS server certificate expires that its repair issue is raised."""

# Diagnostic entities refresh this often (seconds).
MONITOR_INTERVAL: Final = 5.0
