"""The bridge: reads from the encoded view, writes as validated, blocking service calls."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_mock_service

from custom_components.modbus_server.const import EVENT_WRITE
from custom_components.modbus_server.modbus import (
    Area,
    IllegalDataAddress,
    IllegalDataValue,
    IllegalFunction,
    ServerDeviceBusy,
    ServerDeviceFailure,
)
from custom_components.modbus_server.registermap import DataType, UnmappedPolicy

from .bridge_helpers import bridge, point, read_value, write_value

HR, IR, CO, DI = Area.HOLDING_REGISTER, Area.INPUT_REGISTER, Area.COIL, Area.DISCRETE_INPUT


# --- reads ---------------------------------------------------------------------------------------


async def test_read_follows_state_changes_without_waiting(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.t", "20.0")
    p = point("sensor.t", IR, 0)
    b = bridge(hass, p)
    assert read_value(b, p) == 20.0
    hass.states.async_set("sensor.t", "21.5")  # no await: the view is updated synchronously
    assert read_value(b, p) == 21.5
    hass.states.async_set("sensor.t", "22.25", {"unit_of_measurement": "°C"})
    assert read_value(b, p) == 22.25


async def test_block_read_spans_points_and_partial_values(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.a", "1.5")
    hass.states.async_set("sensor.b", "-2")
    hass.states.async_set("switch.c", "on")
    pa = point("sensor.a", HR, 0, writable=False)
    pb = point("sensor.b", HR, 2, DataType.INT16, writable=False)
    pc = point("switch.c", HR, 3, DataType.UINT16)
    b = bridge(hass, pa, pb, pc)
    assert b.on_read(None, HR, 0, 4) == [0x3FC0, 0x0000, 0xFFFE, 1]
    assert b.on_read(None, HR, 1, 2) == [0x0000, 0xFFFE]  # second half of the float32


async def test_gap_policy(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.a", "7")
    pa = point("sensor.a", IR, 0, DataType.UINT16)
    pb = point("sensor.a", IR, 5, DataType.UINT16)
    strict = bridge(hass, pa, pb)
    with pytest.raises(IllegalDataAddress):
        strict.on_read(None, IR, 0, 6)
    with pytest.raises(IllegalDataAddress):
        strict.on_read(None, IR, 6, 1)  # past the highest mapped address
    lenient = bridge(hass, pa, pb, unmapped=UnmappedPolicy.ZERO)
    assert lenient.on_read(None, IR, 0, 6) == [7, 0, 0, 0, 0, 7]
    assert lenient.on_read(None, IR, 5, 3) == [7, 0, 0]


async def test_a_source_going_unavailable_and_back_is_followed_by_block_reads(
    hass: HomeAssistant,
) -> None:
    hass.states.async_set("switch.a", "on")
    hass.states.async_set("switch.b", "off")
    pa = point("switch.a", DI, 10, DataType.BOOL, writable=False)
    pb = point("switch.b", DI, 11, DataType.BOOL, writable=False)
    b = bridge(hass, pa, pb)
    assert list(b.on_read(None, DI, 10, 2)) == [1, 0]
    hass.states.async_set("switch.b", "unavailable")  # a bool has no default: reads fail (04)
    with pytest.raises(ServerDeviceFailure):
        b.on_read(None, DI, 10, 2)
    assert list(b.on_read(None, DI, 10, 1)) == [1]  # the block before it still reads
    hass.states.async_set("switch.b", "on")
    assert list(b.on_read(None, DI, 10, 2)) == [1, 1]
    with pytest.raises(IllegalDataAddress):
        b.on_read(None, DI, 9, 2)  # the gap below the first point


@pytest.mark.parametrize("state", ["unavailable", "unknown", "not a number"])
async def test_unavailable_source(hass: HomeAssistant, state: str) -> None:
    hass.states.async_set("sensor.t", state)
    plain = point("sensor.t", IR, 0, DataType.INT16)
    chosen = point("sensor.t", IR, 1, DataType.INT16, unavailable_value=-999)
    floating = point("sensor.t", IR, 2, DataType.FLOAT32)
    switch = point("sensor.t", DI, 0, DataType.BOOL)
    b = bridge(hass, plain, chosen, floating, switch)
    assert b.on_read(None, IR, 0, 1) == [0x8000]  # int16 default: the minimum
    assert b.on_read(None, IR, 1, 1) == [(-999) & 0xFFFF]
    assert b.on_read(None, IR, 2, 2) == [0x7FC0, 0x0000]  # NaN
    with pytest.raises(ServerDeviceFailure):  # bool has no default: the read fails (04)
        b.on_read(None, DI, 0, 1)
    hass.states.async_set("sensor.t", "3")
    assert b.on_read(None, IR, 0, 3) == [3, 3, 0x4040]
    with pytest.raises(ServerDeviceFailure):  # a sensor offers no on/off state
        b.on_read(None, DI, 0, 1)


async def test_missing_entity_and_unknown_domain_read_unavailable(hass: HomeAssistant) -> None:
    b = bridge(
        hass,
        point("sensor.nothing", IR, 0, DataType.UINT16),
        point("zone.home", IR, 1, DataType.UINT16),
    )
    assert b.on_read(None, IR, 0, 2) == [0xFFFF, 0xFFFF]
    hass.states.async_set("sensor.nothing", "12")
    assert b.on_read(None, IR, 0, 2) == [12, 0xFFFF]


async def test_bit_points_share_a_register(hass: HomeAssistant) -> None:
    hass.states.async_set("binary_sensor.a", "on")
    hass.states.async_set("binary_sensor.b", "off")
    pa = point("binary_sensor.a", IR, 4, DataType.BIT, bit=0)
    pb = point("binary_sensor.b", IR, 4, DataType.BIT, bit=3)
    b = bridge(hass, pa, pb)
    assert b.on_read(None, IR, 4, 1) == [0b0001]
    hass.states.async_set("binary_sensor.b", "on")
    assert b.on_read(None, IR, 4, 1) == [0b1001]


async def test_direct_mode_reads_hass_states(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.t", "5")
    p = point("sensor.t", IR, 0, DataType.UINT16)
    b = bridge(hass, p, cache=False)
    assert b.on_read(None, IR, 0, 1) == [5]
    hass.states.async_set("sensor.t", "6")
    assert b.on_read(None, IR, 0, 1) == [6]


async def test_stopping_the_bridge_stops_following(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.t", "5")
    p = point("sensor.t", IR, 0, DataType.UINT16)
    b = bridge(hass, p)
    stop = b.async_start()
    stop()
    hass.states.async_set("sensor.t", "6")
    # bridge() started it once already; that subscription still follows
    assert b.on_read(None, IR, 0, 1) == [6]


# --- writes --------------------------------------------------------------------------------------


async def test_write_with_real_helpers(hass: HomeAssistant) -> None:
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"level": {"min": 0, "max": 50, "step": 0.5, "initial": 10}}},
    )
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"flag": {"initial": False}}}
    )
    assert await async_setup_component(
        hass,
        "input_select",
        {"input_select": {"mode": {"options": ["eco", "comfort", "boost"], "initial": "eco"}}},
    )
    assert await async_setup_component(
        hass, "counter", {"counter": {"cycles": {"initial": 3, "maximum": 100}}}
    )
    assert await async_setup_component(
        hass, "input_text", {"input_text": {"msg": {"initial": "hi", "max": 8}}}
    )
    level = point("input_number.level", HR, 0, DataType.INT16, scale=0.1)
    flag = point("input_boolean.flag", CO, 0)
    mode = point("input_select.mode", HR, 1, DataType.UINT16)
    cycles = point("counter.cycles", HR, 2, DataType.UINT32)
    msg = point("input_text.msg", HR, 4, DataType.STRING, length=4)
    b = bridge(hass, level, flag, mode, cycles, msg)

    assert b.on_read(None, HR, 0, 1) == [100]
    await b.on_write(None, HR, 0, [225])  # 22.5, on the 0.5 grid
    assert hass.states.get("input_number.level").state == "22.5"  # type: ignore[union-attr]
    assert b.on_read(None, HR, 0, 1) == [225]
    with pytest.raises(IllegalDataValue):
        await b.on_write(None, HR, 0, [223])  # 22.3 is off the step
    with pytest.raises(IllegalDataValue):
        await b.on_write(None, HR, 0, [510])  # 51.0 > max
    assert hass.states.get("input_number.level").state == "22.5"  # type: ignore[union-attr]

    await b.on_write(None, CO, 0, [1])
    assert hass.states.get("input_boolean.flag").state == "on"  # type: ignore[union-attr]
    assert list(b.on_read(None, CO, 0, 1)) == [1]

    await b.on_write(None, HR, 1, [2])
    assert hass.states.get("input_select.mode").state == "boost"  # type: ignore[union-attr]
    assert b.on_read(None, HR, 1, 1) == [2]

    await write_value(b, cycles, 42)
    assert hass.states.get("counter.cycles").state == "42"  # type: ignore[union-attr]
    with pytest.raises(IllegalDataValue):
        await write_value(b, cycles, 101)

    await write_value(b, msg, "ok!")
    assert hass.states.get("input_text.msg").state == "ok!"  # type: ignore[union-attr]
    assert read_value(b, msg) == "ok!"


async def test_timer_start_and_cancel(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "timer", {"timer": {"tea": {"duration": "00:03:00"}}})
    run = point("timer.tea", CO, 0)
    left = point("timer.tea#remaining", IR, 0, DataType.UINT32)
    b = bridge(hass, run, left)
    assert list(b.on_read(None, CO, 0, 1)) == [0]
    await b.on_write(None, CO, 0, [1])
    assert hass.states.get("timer.tea").state == "active"  # type: ignore[union-attr]
    assert list(b.on_read(None, CO, 0, 1)) == [1]
    assert read_value(b, left) == 180
    await b.on_write(None, CO, 0, [0])
    assert hass.states.get("timer.tea").state == "idle"  # type: ignore[union-attr]


async def test_write_event_and_context(hass: HomeAssistant) -> None:
    hass.states.async_set("number.sp", "1", {"min": 0, "max": 100, "step": 1})
    calls = async_mock_service(hass, "number", "set_value")
    events: list[Any] = []
    hass.bus.async_listen(EVENT_WRITE, events.append)
    p = point("number.sp", HR, 7, DataType.UINT16, name="setpoint")
    b = bridge(hass, p, entry_id="E1")
    await b.on_write(None, HR, 7, [55])
    await hass.async_block_till_done()
    assert len(events) == 1
    event = events[0]
    assert event.data == {
        "entry_id": "E1",
        "client": None,  # called outside a server: no client
        "client_port": None,
        "client_subject": None,  # TLS only: the client certificate's subject and role
        "client_role": None,
        "unit_id": None,
        "area": "holding_register",
        "address": 7,
        "bit": None,
        "values": [55],
        "value": 55,
        "entity_id": "number.sp",
        "attribute": None,
        "point": "setpoint",
        "result": "applied",
    }
    assert calls[0].context is event.context
    assert calls[0].context.user_id is None
    assert calls[0].data == {"entity_id": "number.sp", "value": 55}


async def test_multi_point_write_is_validated_before_anything_runs(hass: HomeAssistant) -> None:
    hass.states.async_set("number.a", "1", {"min": 0, "max": 100, "step": 1})
    hass.states.async_set("number.b", "1", {"min": 0, "max": 10, "step": 1})
    calls = async_mock_service(hass, "number", "set_value")
    pa = point("number.a", HR, 0, DataType.UINT16)
    pb = point("number.b", HR, 1, DataType.UINT16)
    b = bridge(hass, pa, pb)
    with pytest.raises(IllegalDataValue):
        await b.on_write(None, HR, 0, [50, 11])  # the second value is out of range
    assert calls == []
    await b.on_write(None, HR, 0, [50, 9])
    assert [(c.data["entity_id"], c.data["value"]) for c in calls] == [
        ("number.a", 50),
        ("number.b", 9),
    ]


async def test_unmapped_or_read_only_write_is_refused(hass: HomeAssistant) -> None:
    hass.states.async_set("switch.s", "off")
    calls = async_mock_service(hass, "switch", "turn_on")
    b = bridge(hass, point("switch.s", CO, 0, writable=False), point("switch.s", CO, 1))
    with pytest.raises(IllegalDataAddress):
        await b.on_write(None, CO, 0, [1])
    with pytest.raises(IllegalDataAddress):
        await b.on_write(None, CO, 1, [1, 1])
    assert calls == []


async def test_read_only_bridge_refuses_with_illegal_function(hass: HomeAssistant) -> None:
    hass.states.async_set("switch.s", "off")
    calls = async_mock_service(hass, "switch", "turn_on")
    b = bridge(hass, point("switch.s", CO, 0), read_only=True)
    with pytest.raises(IllegalFunction):
        await b.on_write(None, CO, 0, [1])
    assert calls == []
    assert list(b.on_read(None, CO, 0, 1)) == [0]


async def test_slow_service_answers_busy(hass: HomeAssistant) -> None:
    hass.states.async_set("switch.slow", "off")
    release = asyncio.Event()

    finished: list[bool] = []

    async def slow(call: ServiceCall) -> None:
        await release.wait()
        finished.append(True)

    hass.services.async_register("switch", "turn_on", slow)
    b = bridge(hass, point("switch.slow", CO, 0), write_timeout=0.05)
    with pytest.raises(ServerDeviceBusy):
        await b.on_write(None, CO, 0, [1])
    assert not finished  # still running: not cut off at the deadline
    release.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert finished == [True]


async def test_call_failing_after_the_deadline_is_logged(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    hass.states.async_set("switch.slow", "off")
    release = asyncio.Event()

    async def slow_failure(call: ServiceCall) -> None:
        await release.wait()
        raise HomeAssistantError("gave up")

    hass.services.async_register("switch", "turn_on", slow_failure)
    b = bridge(hass, point("switch.slow", CO, 0), write_timeout=0.05)
    with pytest.raises(ServerDeviceBusy):
        await b.on_write(None, CO, 0, [1])
    release.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "failed after the deadline: gave up" in caplog.text


async def test_failing_service_answers_failure_and_logs_once(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    hass.states.async_set("switch.bad", "off")
    async_mock_service(
        hass, "switch", "turn_on", raise_exception=HomeAssistantError("device offline")
    )
    ok = async_mock_service(hass, "switch", "turn_off")
    # always: the 0 below must call turn_off although the switch already reads off
    b = bridge(hass, point("switch.bad", CO, 0), write_modes={"coil-0": "always"})
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        with pytest.raises(ServerDeviceFailure):
            await b.on_write(None, CO, 0, [1])
    warnings = [r for r in caplog.records if "device offline" in r.getMessage()]
    assert len(warnings) == 1
    await b.on_write(None, CO, 0, [0])  # success clears it: the next failure is logged again
    assert len(ok) == 1
    with pytest.raises(ServerDeviceFailure):
        await b.on_write(None, CO, 0, [1])
    assert len([r for r in caplog.records if "device offline" in r.getMessage()]) == 2


async def test_missing_service_answers_failure(hass: HomeAssistant) -> None:
    hass.states.async_set("switch.s", "off")
    b = bridge(hass, point("switch.s", CO, 0))
    with pytest.raises(ServerDeviceFailure):
        await b.on_write(None, CO, 0, [1])


async def test_write_to_unavailable_entity_calls_nothing(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    hass.states.async_set("switch.s", "unavailable")
    calls = async_mock_service(hass, "switch", "turn_on")
    b = bridge(hass, point("switch.s", CO, 0))
    for _ in range(2):
        with pytest.raises(ServerDeviceFailure):
            await b.on_write(None, CO, 0, [1])
    assert calls == []
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


async def test_input_datetime_time_of_day_with_the_real_helper(hass: HomeAssistant) -> None:
    assert await async_setup_component(
        hass,
        "input_datetime",
        {"input_datetime": {"alarm": {"has_time": True, "has_date": False, "initial": "07:30"}}},
    )
    p = point("input_datetime.alarm", HR, 0, DataType.UINT32)
    b = bridge(hass, p)
    assert read_value(b, p) == 7 * 3600 + 30 * 60
    await write_value(b, p, 6 * 3600 + 15 * 60)
    assert hass.states.get("input_datetime.alarm").state == "06:15:00"  # type: ignore[union-attr]
    assert read_value(b, p) == 6 * 3600 + 15 * 60


async def test_the_view_serves_what_direct_reads_of_the_states_serve(hass: HomeAssistant) -> None:
    """The encoded view is a cache: same registers as reading hass.states per request.

    (How much faster it is: benchmarks/bridge_bench.py.)
    """
    points = []
    address = 0
    for index in range(50):
        hass.states.async_set(f"sensor.t{index}", str(20 + index / 10))
        points.append(point(f"sensor.t{index}", HR, address, DataType.FLOAT32, writable=False))
        address += 2
    for index in range(5):
        hass.states.async_set(f"counter.c{index}", str(1000 * index))
        points.append(point(f"counter.c{index}", HR, address, DataType.INT64))
        address += 4
    for index in range(5):
        hass.states.async_set(f"switch.s{index}", "on" if index % 2 else "off")
        points.append(point(f"switch.s{index}", HR, address, DataType.UINT16))
        address += 1
    cached = bridge(hass, *points)
    direct = bridge(hass, *points, cache=False)
    assert cached.on_read(None, HR, 0, 125) == direct.on_read(None, HR, 0, 125)
    for value in range(100):
        hass.states.async_set("sensor.t7", str(value))
        hass.states.async_set("counter.c2", str(-value))
    assert cached.on_read(None, HR, 0, 125) == direct.on_read(None, HR, 0, 125)


async def test_stopping_home_assistant_cancels_a_hung_call_without_complaint(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """A hung call is a background task: cancelled when HA stops, not left to the last stage."""
    hass.states.async_set("switch.stuck", "off")
    cancelled: list[bool] = []

    async def hang(call: ServiceCall) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    hass.services.async_register("switch", "turn_on", hang)
    b = bridge(hass, point("switch.stuck", CO, 0), write_timeout=0.05)
    with pytest.raises(ServerDeviceBusy):
        await b.on_write(None, CO, 0, [1])
    await hass.async_stop()
    assert cancelled == [True]
    assert "still running after final writes shutdown stage" not in caplog.text
