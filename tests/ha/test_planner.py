"""The write planner on plain states: which calls one block becomes (no service is called)."""

from __future__ import annotations

import pytest
from homeassistant.core import State

from custom_components.modbus_server.bindings import ServiceCall, get_binding
from custom_components.modbus_server.const import WRITE_MODE_ALWAYS, WRITE_MODE_ON_CHANGE
from custom_components.modbus_server.modbus import Area, IllegalDataValue
from custom_components.modbus_server.planner import (
    PointWrite,
    Source,
    effective_write_mode,
    plan_writes,
)
from custom_components.modbus_server.registermap import DataType

from .bridge_helpers import point

HR = Area.HOLDING_REGISTER

STATES = {
    "climate.hall": State(
        "climate.hall",
        "heat_cool",
        {"target_temp_low": 19, "target_temp_high": 24, "min_temp": 7, "max_temp": 35},
    ),
    "light.desk": State(
        "light.desk",
        "on",
        {"brightness": 10, "min_color_temp_kelvin": 2000, "max_color_temp_kelvin": 6500},
    ),
}


def write(source: str, address: int, value: float) -> PointWrite:
    entity_id, _, attribute = source.partition("#")
    binding = get_binding(entity_id.partition(".")[0])
    p = point(source, HR, address, DataType.UINT16)
    return PointWrite(p, value, (int(value),), Source(entity_id, attribute or None, binding))


def calls(*writes: PointWrite) -> list[ServiceCall | None]:
    return [step.call for step in plan_writes(writes, STATES.__getitem__)]


def test_each_end_of_a_range_is_built_on_the_other_end_being_written() -> None:
    assert calls(
        write("climate.hall#target_temp_high", 0, 26), write("climate.hall#target_temp_low", 1, 17)
    ) == [
        ServiceCall("climate", "set_temperature", {"target_temp_low": 17, "target_temp_high": 26})
    ]


def test_only_consecutive_calls_of_one_entity_to_one_service_merge() -> None:
    planned = calls(
        write("light.desk#brightness", 0, 200),
        write("light.desk", 1, 0),  # turn_off in between: order matters, no merge across it
        write("light.desk#color_temp_kelvin", 2, 4000),
    )
    assert planned == [
        ServiceCall("light", "turn_on", {"brightness": 200}),
        ServiceCall("light", "turn_off", {}),
        ServiceCall("light", "turn_on", {"color_temp_kelvin": 4000}),
    ]


def test_other_entities_do_not_break_a_merge() -> None:
    planned = calls(
        write("light.desk#brightness", 0, 200),
        write("climate.hall#target_temp_low", 1, 18),
        write("light.desk#color_temp_kelvin", 2, 4000),
    )
    assert planned == [
        ServiceCall("light", "turn_on", {"brightness": 200, "color_temp_kelvin": 4000}),
        ServiceCall("climate", "set_temperature", {"target_temp_high": 24, "target_temp_low": 18}),
    ]


def test_a_refused_point_refuses_the_plan() -> None:
    with pytest.raises(IllegalDataValue):
        calls(write("light.desk#brightness", 0, 200), write("light.desk#brightness", 1, 300))


def test_effective_write_mode() -> None:
    assert effective_write_mode("default", get_binding("button")) == WRITE_MODE_ALWAYS
    assert effective_write_mode(None, get_binding("light")) == WRITE_MODE_ON_CHANGE
    assert effective_write_mode("always", get_binding("light")) == WRITE_MODE_ALWAYS
    assert effective_write_mode("on_change", get_binding("script")) == WRITE_MODE_ON_CHANGE
    assert effective_write_mode("default", None) == WRITE_MODE_ON_CHANGE  # owned values
