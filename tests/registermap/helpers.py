"""Small builders shared by the register map tests."""

from __future__ import annotations

from typing import Any

from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.registermap import DataType, Point

HR = Area.HOLDING_REGISTER
IR = Area.INPUT_REGISTER
CO = Area.COIL
DI = Area.DISCRETE_INPUT


def point(area: Area, address: int, data_type: DataType | str, **kwargs: Any) -> Point:
    """A point with a default name derived from its location."""
    kwargs.setdefault(
        "name", f"{area}_{address}" + (f"_b{kwargs['bit']}" if "bit" in kwargs else "")
    )
    return Point(area=area, address=address, data_type=DataType(data_type), **kwargs)


class Values:
    """A provider backed by a dict name -> engineering value; records calls."""

    def __init__(self, values: dict[str, object]) -> None:
        self.values = values
        self.calls: list[str] = []

    def __call__(self, p: Point) -> object:
        self.calls.append(p.name)
        return self.values[p.name]
