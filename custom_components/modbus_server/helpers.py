"""Glue between config (sub)entries, the register map and the network.

No flows and no entities here: functions the config flow, setup and services share.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry

from .const import (
    BIND_ALL,
    BIND_ALL_IPV6,
    CONF_ADDRESS,
    CONF_AREA,
    CONF_ATTRIBUTE,
    CONF_BIT,
    CONF_BYTE_ORDER,
    CONF_DATA_TYPE,
    CONF_DESCRIPTION,
    CONF_ENTITY_ID,
    CONF_LENGTH,
    CONF_OFFSET,
    CONF_SCALE,
    CONF_UNAVAILABLE_VALUE,
    CONF_UNIT,
    CONF_WORD_ORDER,
    CONF_WRITABLE,
)
from .modbus.area import Area
from .modbus.device_id import MAX_OBJECT_LENGTH
from .registermap import ByteOrder, DataType, Point, WordOrder
from .registermap.plc import format_plc_address

AREA_ABBREVIATIONS: Final[dict[Area, str]] = {
    Area.COIL: "CO",
    Area.DISCRETE_INPUT: "DI",
    Area.INPUT_REGISTER: "IR",
    Area.HOLDING_REGISTER: "HR",
}

SAFETY_DOMAINS: Final = frozenset({"lock", "alarm_control_panel"})
SAFETY_COVER_CLASSES: Final = frozenset({"garage", "gate", "door"})
"""Covers that open a way into the building (cover device classes)."""

PORT_SEARCH_SPAN: Final = 100
UNPRIVILEGED_PORT: Final = 5020
"""Where the port suggestion starts when a privileged port is refused."""


def bind_hosts(bind_address: str) -> str | list[str] | None:
    """Map the bind address setting to the `host` argument of the server (None = all)."""
    if bind_address == BIND_ALL:
        return None
    return bind_address


def try_bind(bind_address: str, port: int) -> None:
    """Bind (and release) a listening socket the way the server will; OSError when not possible.

    SO_REUSEADDR matches asyncio's `create_server`, so a port held in TIME_WAIT counts as
    free while one with a listener counts as taken.
    """
    hosts = ["0.0.0.0", BIND_ALL_IPV6] if bind_address == BIND_ALL else [bind_address]
    sockets: list[socket.socket] = []
    try:
        for host in hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            if family == socket.AF_INET6 and bind_address == BIND_ALL and not socket.has_ipv6:
                continue  # pragma: no cover - hosts without IPv6
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((host, port))
            sock.listen(1)
    finally:
        for sock in sockets:
            sock.close()


def next_free_port(bind_address: str, start: int, taken: Iterable[int] = ()) -> int | None:
    """First port from `start` that binds and is not in `taken`; None when none is found."""
    skip = set(taken)
    for port in range(start, min(start + PORT_SEARCH_SPAN, 65536)):
        if port in skip:
            continue
        try:
            try_bind(bind_address, port)
        except OSError:
            continue
        return port
    return None


def bind_error_key(err: OSError) -> str:
    """Translation key of a bind failure."""
    if err.errno == errno.EADDRINUSE:
        return "port_in_use"
    if err.errno == errno.EACCES:
        return "permission_denied"
    if err.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return "address_not_available"
    return "cannot_bind"


def parse_allowed_clients(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """Normalise IPs/CIDRs; return (normalised, invalid entries).

    IPv4-mapped IPv6 entries (`::ffff:10.0.0.5`, `::ffff:10.0.0.0/120`) become IPv4: the
    server compares mapped peers as IPv4, so the mapped form would admit nobody.
    """
    normalised: list[str] = []
    invalid: list[str] = []
    for raw in values:
        for item in raw.replace(",", " ").split():
            try:
                network = _unmapped(ipaddress.ip_network(item, strict=False))
            except ValueError:
                invalid.append(item)
                continue
            text = str(network)
            if network.num_addresses == 1:
                text = str(network.network_address)
            if text not in normalised:
                normalised.append(text)
    return normalised, invalid


def _unmapped(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The IPv4 network an IPv4-mapped IPv6 network (prefix /96 or longer) stands for."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


def catch_all_clients(allowed: Iterable[str]) -> list[str]:
    """The entries of a normalised allow-list that admit every address of their family."""
    return [item for item in allowed if ipaddress.ip_network(item).prefixlen == 0]


def identification_text(text: str) -> str:
    """`text` cut to what one FC43 device identification object holds (UTF-8 bytes).

    A longer name or entry title would make the DeviceIdentification refuse to encode and
    setup fail; the cut never splits a multi-byte character.
    """
    return text.encode()[:MAX_OBJECT_LENGTH].decode(errors="ignore")


def identification_too_long(text: str) -> bool:
    """Whether `text` is longer than one FC43 object allows (the name field's check)."""
    return len(text.encode()) > MAX_OBJECT_LENGTH


def safety_relevant(domain: str, device_class: str | None) -> bool:
    """Whether a write could open the building: locks, alarm panels, doors, gates, garages.

    Such rows start read-only: any client that may connect could otherwise unlock a door.
    The flows make them writable only when the user asks for it, one row at a time.
    """
    return domain in SAFETY_DOMAINS or (domain == "cover" and device_class in SAFETY_COVER_CLASSES)


def point_source(entity_id: str | None, attribute: str | None) -> str | None:
    """The `Point.source` of an entity (and attribute); None for integration-owned points."""
    if entity_id is None:
        return None
    return f"{entity_id}#{attribute}" if attribute else entity_id


def split_source(source: str | None) -> tuple[str | None, str | None]:
    """Inverse of `point_source`."""
    if not source:
        return None, None
    entity_id, _, attribute = source.partition("#")
    return entity_id, attribute or None


def point_from_data(data: Mapping[str, Any], key: str = "") -> Point:
    """Build the register map point of a subentry's data (raises ValueError on bad enums)."""
    data_type = DataType(data[CONF_DATA_TYPE])
    return Point(
        area=Area(data[CONF_AREA]),
        address=int(data[CONF_ADDRESS]),
        data_type=data_type,
        name=str(data.get("name") or ""),
        description=str(data.get(CONF_DESCRIPTION) or ""),
        scale=float(data.get(CONF_SCALE, 1.0)),
        offset=float(data.get(CONF_OFFSET, 0.0)),
        word_order=WordOrder(data.get(CONF_WORD_ORDER, WordOrder.BIG)),
        byte_order=ByteOrder(data.get(CONF_BYTE_ORDER, ByteOrder.BIG)),
        bit=optional_int(data.get(CONF_BIT)),
        length=optional_int(data.get(CONF_LENGTH)),
        writable=bool(data.get(CONF_WRITABLE, False)),
        unavailable_value=data.get(CONF_UNAVAILABLE_VALUE),
        unit=data.get(CONF_UNIT) or None,
        source=point_source(data.get(CONF_ENTITY_ID), data.get(CONF_ATTRIBUTE)),
        key=key,
    )


def data_from_point(point: Point) -> dict[str, Any]:
    """Subentry data of a point (inverse of `point_from_data`)."""
    entity_id, attribute = split_source(point.source)
    return {
        CONF_AREA: str(point.area),
        CONF_ADDRESS: point.address,
        CONF_DATA_TYPE: str(point.data_type),
        "name": point.name,
        CONF_DESCRIPTION: point.description,
        CONF_SCALE: point.scale,
        CONF_OFFSET: point.offset,
        CONF_WORD_ORDER: str(point.word_order),
        CONF_BYTE_ORDER: str(point.byte_order),
        CONF_BIT: point.bit,
        CONF_LENGTH: point.length,
        CONF_WRITABLE: point.writable,
        CONF_UNAVAILABLE_VALUE: point.unavailable_value,
        CONF_UNIT: point.unit,
        CONF_ENTITY_ID: entity_id,
        CONF_ATTRIBUTE: attribute,
    }


def optional_int(value: Any) -> int | None:
    """An optional whole number from a form or subentry (empty text counts as none)."""
    return None if value is None or value == "" else int(value)


def point_title(point: Point) -> str:
    """Subentry title: 'HR 100 (40101) · sensor.boiler_temp · float32'."""
    what = point.source or point.name or "owned"
    where = f"{AREA_ABBREVIATIONS[point.area]} {point.address}"
    if point.data_type == DataType.BIT and point.bit is not None:
        where += f".{point.bit}"
    return f"{where} ({format_plc_address(point.area, point.address)}) · {what} · {point.data_type}"


def entry_signature(entry: ConfigEntry) -> object:
    """What the listener depends on: the server settings (devices and tables swap live)."""
    return repr(sorted(entry.data.items()))
