"""Helpers for the binding and bridge tests: points, maps and bridges in a few words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from homeassistant.core import HomeAssistant
from pymodbus.client import AsyncModbusTcpClient

from custom_components.modbus_server.bridge import Bridge
from custom_components.modbus_server.modbus import Area, Server
from custom_components.modbus_server.owned import OwnedStore
from custom_components.modbus_server.registermap import DataType, Point, RegisterMap


def point(
    source: str | None,
    area: Area,
    address: int = 0,
    data_type: DataType | str | None = None,
    **fields: Any,
) -> Point:
    """A point; bool in bit areas and float32 in register areas unless told."""
    if data_type is None:
        data_type = DataType.BOOL if area.is_bit else DataType.FLOAT32
    fields.setdefault("writable", area.is_writable)
    fields.setdefault("key", f"{area}-{address}")
    return Point(area=area, address=address, data_type=DataType(data_type), source=source, **fields)


def bridge(hass: HomeAssistant, *points: Point, **options: Any) -> Bridge:
    """A started bridge over a map of `points` (map options: `unmapped`)."""
    map_options = {k: options.pop(k) for k in ("unmapped",) if k in options}
    register_map = RegisterMap(points, **map_options)
    result = Bridge(hass, register_map, OwnedStore(register_map), **options)
    result.async_start()
    return result


def read_value(b: Bridge, p: Point) -> object:
    """Read a point over the bridge and decode it back into its engineering value."""
    registers = b.on_read(None, p.area, p.address, p.register_count)
    return b.register_map.decode(p, registers)


async def write_value(b: Bridge, p: Point, value: object) -> None:
    """Encode an engineering value the way a client would and write it over the bridge."""
    await b.on_write(None, p.area, p.address, list(b.register_map.encode(p, value)))


@asynccontextmanager
async def serving(b: Bridge) -> AsyncIterator[AsyncModbusTcpClient]:
    """The bridge behind a real server on 127.0.0.1, and a pymodbus client connected to it."""
    server = Server(host="127.0.0.1", port=0, on_read=b.on_read, on_write=b.on_write)
    await server.start()
    client = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=5, retries=0)
    await client.connect()
    try:
        yield client
    finally:
        client.close()
        await server.stop()
