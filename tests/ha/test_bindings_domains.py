# ruff: noqa: E501  (tables read best one case per line)
"""Each domain's read and write mapping, through the bridge, against the state machine.

States are set with `hass.states.async_set`; services that need hardware are mocked with
`async_mock_service` so the test sees exactly which call a Modbus write turns into.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_mock_service

from custom_components.modbus_server.modbus import (
    Area,
    IllegalDataValue,
    IllegalFunction,
    ServerDeviceFailure,
)

from .bridge_helpers import bridge, point, read_value, write_value

CO, DI, HR, IR = Area.COIL, Area.DISCRETE_INPUT, Area.HOLDING_REGISTER, Area.INPUT_REGISTER
SELECT = {"options": ["eco", "comfort", "boost"]}
CLIMATE = {
    "hvac_modes": ["off", "heat", "cool", "auto"],
    "current_temperature": 20.5,
    "temperature": 21.0,
    "min_temp": 7,
    "max_temp": 30,
    "target_temp_step": 0.5,
    "current_humidity": 44,
    "humidity": 50,
    "min_humidity": 30,
    "max_humidity": 70,
}
RANGE = {"target_temp_low": 19.0, "target_temp_high": 24.0, "min_temp": 7, "max_temp": 30}
LIGHT = {"brightness": 128, "min_color_temp_kelvin": 2000, "max_color_temp_kelvin": 6500}
NUMBER = {"min": 0, "max": 100, "step": 0.5}

# (entity_id, state, attributes, area, source attribute, data type, expected value)
READS: list[tuple[str, str, dict[str, Any], Area, str | None, str | None, object]] = [
    ("switch.pump", "on", {}, CO, None, None, True),
    ("switch.pump", "off", {}, DI, None, None, False),
    ("switch.pump", "on", {}, HR, None, "uint16", 1),
    ("input_boolean.flag", "on", {}, DI, None, None, True),
    ("binary_sensor.door", "on", {}, DI, None, None, True),
    ("binary_sensor.door", "off", {}, IR, None, "uint16", 0),
    ("light.lamp", "on", LIGHT, CO, None, None, True),
    ("light.lamp", "on", LIGHT, IR, "brightness", "uint16", 128),
    ("light.lamp", "off", {}, IR, "brightness", "uint16", 0),
    ("light.lamp", "on", {"color_temp_kelvin": 2700}, IR, "color_temp_kelvin", "uint16", 2700),
    ("fan.vent", "on", {"percentage": 66}, IR, "percentage", "uint16", 66),
    ("fan.vent", "off", {}, IR, "percentage", "uint16", 0),
    ("lock.front", "locked", {}, DI, None, None, True),
    ("lock.front", "unlocked", {}, DI, None, None, False),
    ("lock.front", "unlocking", {}, DI, None, None, False),
    ("cover.blind", "open", {"current_position": 70}, DI, None, None, True),
    ("cover.blind", "closing", {}, DI, None, None, True),
    ("cover.blind", "closed", {}, DI, None, None, False),
    ("cover.blind", "open", {"current_position": 70}, IR, "current_position", "uint16", 70),
    ("cover.blind", "open", {"current_tilt_position": 5}, IR, "current_tilt_position", "uint16", 5),
    ("valve.main", "open", {}, CO, None, None, True),
    ("valve.main", "closed", {"current_position": 0}, IR, "current_position", "uint16", 0),
    ("siren.alarm", "on", {}, CO, None, None, True),
    ("humidifier.bath", "off", {"humidity": 45}, CO, None, None, False),
    ("humidifier.bath", "on", {"humidity": 45}, HR, "humidity", "uint16", 45),
    ("humidifier.bath", "on", {"current_humidity": 61}, IR, "current_humidity", "uint16", 61),
    ("device_tracker.phone", "home", {}, DI, None, None, True),
    ("device_tracker.phone", "not_home", {}, DI, None, None, False),
    ("device_tracker.phone", "work", {"battery_level": 80}, DI, None, None, False),
    ("device_tracker.phone", "home", {"battery_level": 80}, IR, "battery_level", "uint16", 80),
    ("person.ann", "home", {}, DI, None, None, True),
    ("person.ann", "away", {"latitude": 52.5}, IR, "latitude", "float32", 52.5),
    ("sensor.temp", "21.5", {}, IR, None, None, 21.5),
    ("sensor.temp", "-3", {}, IR, None, "int16", -3),
    ("sensor.temp", "21.5", {"battery": 90}, IR, "battery", "uint16", 90),
    (
        "sensor.boot",
        "2026-01-02T03:04:05+00:00",
        {"device_class": "timestamp"},
        IR,
        None,
        "uint32",
        1767323045,
    ),
    ("sensor.mode", "b", {"device_class": "enum", "options": ["a", "b"]}, IR, None, "uint16", 1),
    ("number.setpoint", "42.5", NUMBER, HR, None, None, 42.5),
    ("input_number.level", "7", NUMBER, HR, None, "int16", 7),
    ("counter.cycles", "1234", {}, HR, None, "int32", 1234),
    ("select.mode", "comfort", SELECT, HR, None, "uint16", 1),
    ("input_select.mode", "boost", SELECT, HR, None, "uint16", 2),
    ("climate.living", "heat", CLIMATE, DI, None, None, True),
    ("climate.living", "off", CLIMATE, CO, None, None, False),
    ("climate.living", "cool", CLIMATE, HR, None, "uint16", 2),
    ("climate.living", "heat", CLIMATE, IR, "current_temperature", None, 20.5),
    ("climate.living", "heat", CLIMATE, HR, "temperature", None, 21.0),
    ("climate.living", "heat", CLIMATE, IR, "current_humidity", "uint16", 44),
    ("climate.living", "heat_cool", RANGE, HR, "target_temp_low", None, 19.0),
    ("water_heater.boiler", "eco", {"operation_list": ["off", "eco"]}, HR, None, "uint16", 1),
    (
        "water_heater.boiler",
        "eco",
        {"current_temperature": 55},
        IR,
        "current_temperature",
        None,
        55,
    ),
    ("media_player.tv", "playing", {"volume_level": 0.25}, DI, None, None, True),
    ("media_player.tv", "standby", {}, DI, None, None, False),
    ("media_player.tv", "playing", {"volume_level": 0.25}, HR, "volume_level", None, 0.25),
    ("media_player.tv", "playing", {"is_volume_muted": True}, IR, "is_volume_muted", "uint16", 1),
    ("button.restart", "2026-01-01T00:00:00+00:00", {}, CO, None, None, False),
    ("input_button.ring", "unknown", {}, CO, None, None, None),
    ("scene.evening", "2026-01-01T00:00:00+00:00", {}, CO, None, None, False),
    ("script.wash", "on", {}, DI, None, None, True),
    ("automation.night", "off", {}, CO, None, None, False),
    ("timer.tea", "active", {"remaining": "0:02:30"}, DI, None, None, True),
    ("timer.tea", "paused", {}, DI, None, None, False),
    ("timer.tea", "active", {"remaining": "1:02:30"}, IR, "remaining", "uint32", 3750),
    ("timer.tea", "idle", {"duration": "0:05:00"}, IR, "duration", "uint32", 300),
    ("input_text.msg", "hello", {}, HR, None, "string", "hello"),
    ("text.code", "A1", {}, IR, None, "string", "A1"),
    ("vacuum.robi", "cleaning", {}, DI, None, None, True),
    ("vacuum.robi", "docked", {"battery_level": 93}, DI, None, None, False),
    ("vacuum.robi", "docked", {"battery_level": 93}, IR, "battery_level", "uint16", 93),
    ("lawn_mower.mo", "mowing", {}, DI, None, None, True),
    ("lawn_mower.mo", "docked", {}, DI, None, None, False),
    ("remote.tv", "on", {}, DI, None, None, True),
    ("update.core", "on", {}, DI, None, None, True),
    ("update.core", "off", {}, DI, None, None, False),
    ("alarm_control_panel.house", "armed_away", {}, DI, None, None, True),
    ("alarm_control_panel.house", "disarmed", {}, DI, None, None, False),
    ("weather.home", "sunny", {"temperature": 18.5}, IR, "temperature", None, 18.5),
    ("weather.home", "sunny", {"humidity": 61}, IR, "humidity", "uint16", 61),
    (
        "input_datetime.alarm",
        "07:30:00",
        {"has_date": False, "timestamp": 27000},
        HR,
        None,
        "uint32",
        27000,
    ),
]


@pytest.mark.parametrize(
    ("entity_id", "state", "attributes", "area", "attribute", "data_type", "expected"), READS
)
async def test_read(  # noqa: PLR0917
    hass: HomeAssistant,
    entity_id: str,
    state: str,
    attributes: dict[str, Any],
    area: Area,
    attribute: str | None,
    data_type: str | None,
    expected: object,
) -> None:
    hass.states.async_set(entity_id, state, attributes)
    source = f"{entity_id}#{attribute}" if attribute else entity_id
    extra: dict[str, Any] = {"length": 4} if data_type == "string" else {}
    if expected is None:  # unavailable: serve a chosen value instead of failing
        extra["unavailable_value"] = 1
    p = point(source, area, 10, data_type, **extra)
    b = bridge(hass, p)
    value = read_value(b, p)
    if expected is None:
        assert value is True
    elif isinstance(expected, float):
        assert math.isclose(float(value), expected, rel_tol=1e-6)  # type: ignore[arg-type]
    else:
        assert value == expected


# (entity_id, state, attributes, area, attribute, data type, written value, expected call)
WRITES: list[
    tuple[str, str, dict[str, Any], Area, str | None, str | None, object, tuple[str, str, dict]]
] = [
    ("switch.pump", "off", {}, CO, None, None, True, ("switch", "turn_on", {})),
    ("switch.pump", "on", {}, CO, None, None, False, ("switch", "turn_off", {})),
    ("switch.pump", "on", {}, HR, None, "uint16", 0, ("switch", "turn_off", {})),
    ("input_boolean.flag", "off", {}, CO, None, None, True, ("input_boolean", "turn_on", {})),
    ("light.lamp", "off", {}, CO, None, None, True, ("light", "turn_on", {})),
    (
        "light.lamp",
        "on",
        LIGHT,
        HR,
        "brightness",
        "uint16",
        200,
        ("light", "turn_on", {"brightness": 200}),
    ),
    (
        "light.lamp",
        "on",
        LIGHT,
        HR,
        "color_temp_kelvin",
        "uint16",
        3000,
        ("light", "turn_on", {"color_temp_kelvin": 3000}),
    ),
    ("fan.vent", "on", {}, CO, None, None, False, ("fan", "turn_off", {})),
    (
        "fan.vent",
        "on",
        {"percentage": 10},
        HR,
        "percentage",
        "uint16",
        50,
        ("fan", "set_percentage", {"percentage": 50}),
    ),
    ("lock.front", "unlocked", {}, CO, None, None, True, ("lock", "lock", {})),
    ("lock.front", "locked", {}, CO, None, None, False, ("lock", "unlock", {})),
    ("cover.blind", "closed", {}, CO, None, None, True, ("cover", "open_cover", {})),
    ("cover.blind", "open", {}, CO, None, None, False, ("cover", "close_cover", {})),
    (
        "cover.blind",
        "open",
        {"current_position": 10},
        HR,
        "current_position",
        "uint16",
        40,
        ("cover", "set_cover_position", {"position": 40}),
    ),
    (
        "cover.blind",
        "open",
        {},
        HR,
        "current_tilt_position",
        "uint16",
        90,
        ("cover", "set_cover_tilt_position", {"tilt_position": 90}),
    ),
    ("valve.main", "open", {}, CO, None, None, False, ("valve", "close_valve", {})),
    (
        "valve.main",
        "open",
        {},
        HR,
        "current_position",
        "uint16",
        25,
        ("valve", "set_valve_position", {"position": 25}),
    ),
    ("siren.alarm", "off", {}, CO, None, None, True, ("siren", "turn_on", {})),
    ("humidifier.bath", "on", {}, CO, None, None, False, ("humidifier", "turn_off", {})),
    (
        "humidifier.bath",
        "on",
        {"min_humidity": 30, "max_humidity": 80},
        HR,
        "humidity",
        "uint16",
        55,
        ("humidifier", "set_humidity", {"humidity": 55}),
    ),
    (
        "number.setpoint",
        "1",
        NUMBER,
        HR,
        None,
        None,
        42.5,
        ("number", "set_value", {"value": 42.5}),
    ),
    (
        "counter.cycles",
        "3",
        {"minimum": 0, "maximum": 9999},
        HR,
        None,
        "int32",
        77,
        ("counter", "set_value", {"value": 77}),
    ),
    (
        "select.mode",
        "eco",
        SELECT,
        HR,
        None,
        "uint16",
        2,
        ("select", "select_option", {"option": "boost"}),
    ),
    (
        "climate.living",
        "heat",
        CLIMATE,
        CO,
        None,
        None,
        False,
        ("climate", "turn_off", {}),
    ),
    (
        "climate.living",
        "heat",
        CLIMATE,
        HR,
        None,
        "uint16",
        3,
        ("climate", "set_hvac_mode", {"hvac_mode": "auto"}),
    ),
    (
        "climate.living",
        "heat",
        CLIMATE,
        HR,
        "temperature",
        None,
        22.5,
        ("climate", "set_temperature", {"temperature": 22.5}),
    ),
    (
        "climate.living",
        "heat_cool",
        RANGE,
        HR,
        "target_temp_low",
        None,
        18,
        ("climate", "set_temperature", {"target_temp_low": 18, "target_temp_high": 24.0}),
    ),
    (
        "climate.living",
        "heat",
        CLIMATE,
        HR,
        "humidity",
        "uint16",
        60,
        ("climate", "set_humidity", {"humidity": 60}),
    ),
    (
        "water_heater.boiler",
        "eco",
        {"min_temp": 40, "max_temp": 70},
        HR,
        "temperature",
        None,
        60,
        ("water_heater", "set_temperature", {"temperature": 60}),
    ),
    (
        "water_heater.boiler",
        "eco",
        {"operation_list": ["off", "eco", "performance"]},
        HR,
        None,
        "uint16",
        2,
        ("water_heater", "set_operation_mode", {"operation_mode": "performance"}),
    ),
    ("media_player.tv", "off", {}, CO, None, None, True, ("media_player", "turn_on", {})),
    (
        "media_player.tv",
        "on",
        {"volume_level": 0.1},
        HR,
        "volume_level",
        None,
        0.5,
        ("media_player", "volume_set", {"volume_level": 0.5}),
    ),
    ("button.restart", "unknown", {}, CO, None, None, True, ("button", "press", {})),
    ("scene.evening", "unknown", {}, CO, None, None, True, ("scene", "turn_on", {})),
    ("script.wash", "off", {}, CO, None, None, True, ("script", "turn_on", {})),
    ("automation.night", "on", {}, CO, None, None, False, ("automation", "turn_off", {})),
    ("timer.tea", "idle", {}, CO, None, None, True, ("timer", "start", {})),
    ("timer.tea", "active", {}, CO, None, None, False, ("timer", "cancel", {})),
    ("vacuum.robi", "docked", {}, CO, None, None, True, ("vacuum", "start", {})),
    ("vacuum.robi", "cleaning", {}, CO, None, None, False, ("vacuum", "return_to_base", {})),
    ("lawn_mower.mo", "docked", {}, CO, None, None, True, ("lawn_mower", "start_mowing", {})),
    ("lawn_mower.mo", "mowing", {}, CO, None, None, False, ("lawn_mower", "dock", {})),
    ("remote.tv", "on", {}, CO, None, None, False, ("remote", "turn_off", {})),
    ("update.core", "on", {}, CO, None, None, True, ("update", "install", {})),
    (
        "input_datetime.alarm",
        "07:30:00",
        {"has_date": False, "timestamp": 27000},
        HR,
        None,
        "uint32",
        3723,
        ("input_datetime", "set_datetime", {"time": "01:02:03"}),
    ),
    (
        "input_datetime.due",
        "2026-01-01 00:00:00",
        {"has_date": True, "has_time": True, "timestamp": 1767225600},
        HR,
        None,
        "uint32",
        1767229200,
        ("input_datetime", "set_datetime", {"timestamp": 1767229200}),
    ),
    (
        "text.code",
        "",
        {"min": 0, "max": 8, "pattern": "[A-Z0-9]*"},
        HR,
        None,
        "string",
        "B2",
        ("text", "set_value", {"value": "B2"}),
    ),
]


@pytest.mark.parametrize(
    ("entity_id", "state", "attributes", "area", "attribute", "data_type", "value", "call"), WRITES
)
async def test_write(  # noqa: PLR0917
    hass: HomeAssistant,
    entity_id: str,
    state: str,
    attributes: dict[str, Any],
    area: Area,
    attribute: str | None,
    data_type: str | None,
    value: object,
    call: tuple[str, str, dict[str, Any]],
) -> None:
    hass.states.async_set(entity_id, state, attributes)
    domain, service, data = call
    calls = async_mock_service(hass, domain, service)
    source = f"{entity_id}#{attribute}" if attribute else entity_id
    extra: dict[str, Any] = {"length": 4} if data_type == "string" else {}
    p = point(source, area, 3, data_type, **extra)
    await write_value(bridge(hass, p), p, value)
    assert len(calls) == 1
    assert calls[0].data == {"entity_id": [entity_id], **data} or calls[0].data == {
        "entity_id": entity_id,
        **data,
    }


# (entity_id, state, attributes, area, attribute, data type, scale, raw registers, error)
REFUSED: list[tuple[str, str, dict[str, Any], Area, str | None, str | None, dict, list, type]] = [
    ("number.setpoint", "1", NUMBER, HR, None, "int16", {}, [101], IllegalDataValue),
    ("number.setpoint", "1", NUMBER, HR, None, "int16", {}, [0xFFFF], IllegalDataValue),
    ("number.setpoint", "1", NUMBER, HR, None, "int16", {"scale": 0.1}, [423], IllegalDataValue),
    ("input_number.level", "1", NUMBER, HR, None, "uint16", {}, [200], IllegalDataValue),
    ("select.mode", "eco", SELECT, HR, None, "uint16", {}, [3], IllegalDataValue),
    ("select.mode", "eco", {}, HR, None, "uint16", {}, [0], IllegalDataValue),
    ("input_select.mode", "eco", SELECT, HR, None, "int16", {}, [0xFFFF], IllegalDataValue),
    ("switch.pump", "on", {}, HR, None, "uint16", {}, [2], IllegalDataValue),
    ("light.lamp", "on", LIGHT, HR, "brightness", "uint16", {}, [256], IllegalDataValue),
    ("light.lamp", "on", LIGHT, HR, "color_temp_kelvin", "uint16", {}, [1500], IllegalDataValue),
    ("fan.vent", "on", {}, HR, "percentage", "uint16", {}, [101], IllegalDataValue),
    ("cover.blind", "open", {}, HR, "current_position", "uint16", {}, [101], IllegalDataValue),
    ("climate.living", "heat", CLIMATE, HR, "temperature", None, {}, [0x41FC, 0x0000], IllegalDataValue),  # 31.5
    ("climate.living", "heat", CLIMATE, HR, "temperature", None, {}, [0x41AA, 0x0000], IllegalDataValue),  # 21.25: off-step
    ("climate.living", "heat", CLIMATE, HR, None, "uint16", {}, [4], IllegalDataValue),
    ("humidifier.bath", "on", {"min_humidity": 30, "max_humidity": 80}, HR, "humidity", "uint16", {}, [20], IllegalDataValue),
    ("media_player.tv", "on", {}, HR, "volume_level", None, {}, [0x3FC0, 0x0000], IllegalDataValue),  # 1.5
    ("counter.cycles", "3", {"minimum": 0, "maximum": 10}, HR, None, "int32", {}, [0, 11], IllegalDataValue),
    ("text.code", "", {"min": 0, "max": 8, "pattern": "[A-Z]*"}, HR, None, "string", {"length": 2}, [0x6162, 0], IllegalDataValue),
    ("input_text.msg", "", {"min": 0, "max": 2}, HR, None, "string", {"length": 2}, [0x4142, 0x4300], IllegalDataValue),
    ("sensor.temp", "21", {}, HR, None, "uint16", {}, [5], IllegalFunction),
    ("climate.living", "heat", CLIMATE, HR, "current_temperature", "uint16", {}, [5], IllegalFunction),
    ("binary_sensor.door", "on", {}, CO, None, None, {}, [1], IllegalFunction),
    ("device_tracker.phone", "home", {}, HR, None, "uint16", {}, [1], IllegalFunction),
    ("switch.pump", "unavailable", {}, CO, None, None, {}, [1], ServerDeviceFailure),
    ("zone.home", "0", {}, HR, None, "uint16", {}, [1], ServerDeviceFailure),
    ("alarm_control_panel.house", "disarmed", {}, CO, None, None, {}, [1], IllegalFunction),
    ("weather.home", "sunny", {}, HR, "temperature", "uint16", {}, [1], IllegalFunction),
    ("input_datetime.alarm", "07:30:00", {"has_date": False}, HR, None, "uint32", {}, [1, 0x5180], IllegalDataValue),  # 86400 s
    ("input_datetime.alarm", "07:30:00", {"has_date": False}, HR, None, "int16", {}, [0xFFFF], IllegalDataValue),  # -1 s
]  # fmt: skip


@pytest.mark.parametrize(
    ("entity_id", "state", "attributes", "area", "attribute", "data_type", "extra", "raw", "error"),
    REFUSED,
)
async def test_refused_write_calls_nothing(  # noqa: PLR0917
    hass: HomeAssistant,
    entity_id: str,
    state: str,
    attributes: dict[str, Any],
    area: Area,
    attribute: str | None,
    data_type: str | None,
    extra: dict[str, Any],
    raw: list[int],
    error: type[Exception],
) -> None:
    hass.states.async_set(entity_id, state, attributes)
    calls: list[Any] = []
    hass.bus.async_listen("call_service", calls.append)
    events: list[Any] = []
    hass.bus.async_listen("modbus_server_write", events.append)
    source = f"{entity_id}#{attribute}" if attribute else entity_id
    p = point(source, area, 0, data_type, **extra)
    with pytest.raises(error):
        await bridge(hass, p).on_write(None, area, 0, raw)
    await hass.async_block_till_done()
    assert calls == []
    assert events == []
