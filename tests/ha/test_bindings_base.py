"""The binding helpers and edge cases, on plain `State` objects (no service is involved)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from homeassistant.core import State

from custom_components.modbus_server.bindings import get_binding
from custom_components.modbus_server.bindings.base import (
    as_epoch_seconds,
    check_range,
    clean_number,
    state_number,
)
from custom_components.modbus_server.bindings.timer import duration_seconds
from custom_components.modbus_server.modbus import Area, IllegalDataValue, IllegalFunction
from custom_components.modbus_server.registermap import DataType

HR = Area.HOLDING_REGISTER


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("21", 21),
        ("21.5", 21.5),
        ("1e3", 1000.0),
        ("nan", None),
        ("inf", None),
        ("abc", None),
        (True, 1),
        (7, 7),
        (2.5, 2.5),
        (float("nan"), None),
        (None, None),
        ([1], None),
    ],
)
def test_state_number(raw: object, expected: object) -> None:
    assert state_number(raw) == expected


def test_as_epoch_seconds() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    assert as_epoch_seconds(moment) == 1767323045
    assert as_epoch_seconds(moment.isoformat()) == 1767323045
    assert as_epoch_seconds("2026-01-02T03:04:05") is None  # no time zone: ambiguous
    assert as_epoch_seconds("yesterday") is None
    assert as_epoch_seconds(12) is None


def test_check_range_and_clean_number() -> None:
    assert check_range(21.500000000000004, 7, 30, 0.5) == 21.5
    assert check_range(-5, None, None, None) == -5
    with pytest.raises(IllegalDataValue):
        check_range(float("nan"), None, None, None)
    with pytest.raises(IllegalDataValue):
        check_range(1, 2, None, None)
    assert clean_number(3.0) == 3
    assert clean_number(2.5) == 2.5
    with pytest.raises(IllegalDataValue):
        clean_number(2.5, integer=True)


def _float32(value: float) -> float:
    """What a float32 register carries for `value` (the client can send nothing closer)."""
    return float(struct.unpack(">f", struct.pack(">f", value))[0])


@pytest.mark.parametrize(
    ("value", "minimum", "step"),
    [(21.3, 7, 0.1), (21.35, 0, 0.05), (0.3, 0, 0.01), (100.01, None, 0.01)],
)
def test_float32_values_on_a_step_grid_are_accepted_as_the_grid_value(
    value: float, minimum: float | None, step: float
) -> None:
    written = _float32(value)
    assert written != value  # 21.299999237..., not 21.3
    assert check_range(written, minimum, None, step) == value


def test_float32_noise_is_not_a_way_off_the_grid_or_past_a_bound() -> None:
    assert check_range(_float32(30.1), 7, 30.1, None) == 30.1  # 30.100000381 > 30.1
    assert check_range(_float32(7.1), 7.1, None, None) == 7.1  # 7.0999999 < 7.1
    with pytest.raises(IllegalDataValue):
        check_range(_float32(21.33), 7, None, 0.1)  # really off the grid
    with pytest.raises(IllegalDataValue):
        check_range(_float32(30.2), 7, 30.1, None)


def test_duration_seconds() -> None:
    assert duration_seconds("1:02:03") == 3723
    assert duration_seconds("0:00:09.5") == 9
    assert duration_seconds("9") is None
    assert duration_seconds("a:b:c") is None
    assert duration_seconds(None) is None


def test_timer_reads_other_attributes_as_numbers() -> None:
    timer = get_binding("timer")
    assert timer is not None
    assert timer.read(State("timer.t", "idle", {"restore": True}), HR, "restore") == 1


def test_attributes_offered() -> None:
    climate = get_binding("climate")
    assert climate is not None
    assert "temperature" in climate.attributes()
    switch = get_binding("switch")
    assert switch is not None
    assert switch.attributes() == []


def test_sensor_default_type_depends_on_device_class() -> None:
    sensor = get_binding("sensor")
    assert sensor is not None
    stamp = State("sensor.boot", "2026-01-01T00:00:00+00:00", {"device_class": "timestamp"})
    assert sensor.default_data_type(HR, None, stamp) is DataType.UINT32
    assert sensor.default_data_type(HR, None, State("sensor.t", "1")) is DataType.FLOAT32
    assert sensor.read(State("sensor.x", "text"), HR) is None


def test_unknown_attribute_reads_numbers_and_timestamps_only() -> None:
    sensor = get_binding("sensor")
    assert sensor is not None
    state = State("sensor.x", "1", {"n": 4, "when": "2026-01-01T00:00:00+00:00", "s": "x"})
    assert sensor.read(state, HR, "n") == 4
    assert sensor.read(state, HR, "when") == 1767225600
    assert sensor.read(state, HR, "s") is None
    assert sensor.read(state, HR, "missing") is None


@pytest.mark.parametrize(
    ("domain", "state", "attribute", "value", "error"),
    [
        ("number", State("number.n", "1", {"min": 0, "max": 9}), None, "x", IllegalDataValue),
        ("light", State("light.l", "on"), "brightness", "x", IllegalDataValue),
        ("light", State("light.l", "on"), "unknown_attribute", 1, IllegalFunction),
        ("select", State("select.s", "a", {"options": ["a"]}), None, 0.5, IllegalDataValue),
        ("text", State("text.t", "", {"min": 3, "max": 9}), None, "ab", IllegalDataValue),
        ("switch", State("switch.s", "on"), None, "1", IllegalDataValue),
    ],
)
def test_refused_values(
    domain: str, state: State, attribute: str | None, value: object, error: type[Exception]
) -> None:
    binding = get_binding(domain)
    assert binding is not None
    with pytest.raises(error):
        binding.write(state, HR, attribute, value)  # type: ignore[arg-type]


def test_text_accepts_non_string_values_as_text() -> None:
    text = get_binding("text")
    assert text is not None
    call = text.write(State("text.t", "", {}), HR, None, 12)
    assert call is not None
    assert call.data == {"value": "12"}
    assert text.areas("attr") == []


def test_state_of_a_read_only_register_domain_cannot_be_written() -> None:
    sensor = get_binding("sensor")
    assert sensor is not None
    with pytest.raises(IllegalFunction):
        sensor.write_state(State("sensor.x", "1"), 1)
