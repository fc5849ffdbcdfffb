"""The write planner over a real pymodbus client: what one block write makes the entities do.

Services are registered per test; each one records its calls and applies them to the state,
as the real integration would, so the final state is what the test asserts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

import probatio
import pytest
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import config_validation as cv
from homeassistant.setup import async_setup_component
from pymodbus.client import AsyncModbusTcpClient

from custom_components.modbus_server.bridge import Bridge
from custom_components.modbus_server.const import EVENT_WRITE
from custom_components.modbus_server.modbus import Area, Server
from custom_components.modbus_server.registermap import DataType, Point

from .bridge_helpers import bridge, point

HR, CO = Area.HOLDING_REGISTER, Area.COIL
ILLEGAL_DATA_VALUE = 3
SERVER_DEVICE_BUSY = 6

type Serve = Callable[..., Any]


@pytest.fixture
async def serve(hass: HomeAssistant, socket_enabled: None) -> AsyncGenerator[Callable[..., Any]]:
    """`await serve(*points, **bridge_options)` -> (bridge, connected pymodbus client)."""
    servers: list[Server] = []
    clients: list[AsyncModbusTcpClient] = []

    async def start(*points: Point, **options: Any) -> tuple[Bridge, AsyncModbusTcpClient]:
        b = bridge(hass, *points, **options)
        server = Server(host="127.0.0.1", port=0, on_read=b.on_read, on_write=b.on_write)
        await server.start()
        servers.append(server)
        client = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=5, retries=0)
        assert await client.connect()
        clients.append(client)
        return b, client

    yield start
    for client in clients:
        client.close()
    for server in servers:
        await server.stop()


def applying_service(
    hass: HomeAssistant,
    domain: str,
    service: str,
    apply: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[ServiceCall]:
    """Register `domain.service`: record the call, merge `apply(data)` into the attributes."""
    calls: list[ServiceCall] = []

    async def handle(call: ServiceCall) -> None:
        calls.append(call)
        entity_id = call.data["entity_id"]
        old = hass.states.get(entity_id)
        assert old is not None
        data = {k: v for k, v in call.data.items() if k != "entity_id"}
        hass.states.async_set(
            entity_id, old.state, {**old.attributes, **apply(data)}, context=call.context
        )

    hass.services.async_register(domain, service, handle)
    return calls


def floats(client: AsyncModbusTcpClient, *values: float) -> list[int]:
    """Big-endian float32 registers of each value, concatenated."""
    out: list[int] = []
    for value in values:
        out += client.convert_to_registers(value, client.DATATYPE.FLOAT32)
    return out


# --- item: several points of one entity in one request -------------------------------------------


async def test_fc16_over_both_ends_of_a_temperature_range_sets_both(
    hass: HomeAssistant, serve: Serve
) -> None:
    hass.states.async_set(
        "climate.hall",
        "heat_cool",
        {"target_temp_low": 19, "target_temp_high": 24, "min_temp": 7, "max_temp": 35},
    )
    calls = applying_service(hass, "climate", "set_temperature", lambda data: data)
    _, client = await serve(
        point("climate.hall#target_temp_low", HR, 0),
        point("climate.hall#target_temp_high", HR, 2),
    )
    response = await client.write_registers(0, floats(client, 17, 26))
    assert not response.isError()
    state = hass.states.get("climate.hall")
    assert state is not None
    assert (state.attributes["target_temp_low"], state.attributes["target_temp_high"]) == (17, 26)
    # one call carrying both ends, not two calls each putting back the other's old value
    assert [call.data for call in calls] == [
        {"entity_id": "climate.hall", "target_temp_low": 17, "target_temp_high": 26}
    ]


async def test_brightness_and_colour_temperature_are_one_turn_on(
    hass: HomeAssistant, serve: Serve
) -> None:
    hass.states.async_set(
        "light.desk",
        "on",
        {
            "brightness": 10,
            "color_temp_kelvin": 3000,
            "min_color_temp_kelvin": 2000,
            "max_color_temp_kelvin": 6500,
        },
    )
    calls = applying_service(hass, "light", "turn_on", lambda data: data)
    _, client = await serve(
        point("light.desk#brightness", HR, 0, DataType.UINT16),
        point("light.desk#color_temp_kelvin", HR, 1, DataType.UINT16),
    )
    assert not (await client.write_registers(0, [200, 4000])).isError()
    assert [call.data for call in calls] == [
        {"entity_id": "light.desk", "brightness": 200, "color_temp_kelvin": 4000}
    ]


async def test_position_and_tilt_are_two_calls_in_address_order(
    hass: HomeAssistant, serve: Serve
) -> None:
    hass.states.async_set(
        "cover.blind", "open", {"current_position": 50, "current_tilt_position": 0}
    )
    order: list[str] = []

    def moved(data: dict[str, Any]) -> dict[str, Any]:
        order.append("position")
        return {"current_position": data["position"]}

    def tilted(data: dict[str, Any]) -> dict[str, Any]:
        order.append("tilt")
        return {"current_tilt_position": data["tilt_position"]}

    position = applying_service(hass, "cover", "set_cover_position", moved)
    tilt = applying_service(hass, "cover", "set_cover_tilt_position", tilted)
    _, client = await serve(
        point("cover.blind#current_position", HR, 0, DataType.UINT16),
        point("cover.blind#current_tilt_position", HR, 1, DataType.UINT16),
    )
    assert not (await client.write_registers(0, [80, 45])).isError()
    assert position[0].data["position"] == 80
    assert tilt[0].data["tilt_position"] == 45
    assert order == ["position", "tilt"]


# --- item: bit-packed registers ------------------------------------------------------------------


@pytest.fixture
def switches(hass: HomeAssistant) -> list[ServiceCall]:
    """switch.s0..s15 (s0, s5 on), with turn_on/turn_off that switch them."""
    for bit in range(16):
        hass.states.async_set(f"switch.s{bit}", "on" if bit in (0, 5) else "off")
    calls: list[ServiceCall] = []

    def register(service: str, state: str) -> None:
        async def handle(call: ServiceCall) -> None:
            calls.append(call)
            hass.states.async_set(call.data["entity_id"], state, context=call.context)

        hass.services.async_register("switch", service, handle)

    register("turn_on", "on")
    register("turn_off", "off")
    return calls


def packed(**options: Any) -> list[Point]:
    """HR 0 bit 0..15 -> switch.s0..s15."""
    return [
        point(f"switch.s{bit}", HR, 0, DataType.BIT, bit=bit, key=f"bit{bit}", **options)
        for bit in range(16)
    ]


def switched(calls: list[ServiceCall]) -> list[tuple[str, str]]:
    return [(call.data["entity_id"], call.service) for call in calls]


async def test_mask_write_calls_only_the_bits_the_mask_writes(
    hass: HomeAssistant, serve: Serve, switches: list[ServiceCall]
) -> None:
    _, client = await serve(*packed())
    assert (await client.read_holding_registers(0, count=1)).registers == [0b100001]
    # bit 3 on, bit 0 off; every other bit kept (AND mask 1)
    response = await client.mask_write_register(address=0, and_mask=0xFFF6, or_mask=0x0008)
    assert not response.isError()
    assert switched(switches) == [("switch.s0", "turn_off"), ("switch.s3", "turn_on")]
    assert (await client.read_holding_registers(0, count=1)).registers == [0b101000]


async def test_mask_write_leaves_the_bits_it_keeps_alone_even_in_write_mode_always(
    hass: HomeAssistant, serve: Serve, switches: list[ServiceCall]
) -> None:
    # the server reads the register and writes it back masked: the kept bits must not be
    # rewritten from that copy (a stale one sets back what another write just changed)
    _, client = await serve(*packed(), write_modes={f"bit{b}": "always" for b in range(16)})
    response = await client.mask_write_register(address=0, and_mask=0xFFF7, or_mask=0x0008)
    assert not response.isError()
    assert switched(switches) == [("switch.s3", "turn_on")]  # even in "always" mode


async def test_fc16_and_fc23_call_only_the_bits_that_change(
    hass: HomeAssistant, serve: Serve, switches: list[ServiceCall]
) -> None:
    _, client = await serve(*packed())
    assert not (await client.write_registers(0, [0b100011])).isError()  # bit 1 on
    assert switched(switches) == [("switch.s1", "turn_on")]
    switches.clear()
    assert not (await client.write_register(0, 0b100011)).isError()  # FC6, same value
    assert switches == []
    response = await client.readwrite_registers(
        read_address=0, read_count=1, write_address=0, values=[0b000011]
    )
    assert not response.isError()
    assert response.registers == [0b000011]
    assert switched(switches) == [("switch.s5", "turn_off")]


# --- item: write on change -----------------------------------------------------------------------


async def test_rewriting_the_current_value_calls_nothing_by_default(
    hass: HomeAssistant, serve: Serve
) -> None:
    assert await async_setup_component(
        hass, "input_number", {"input_number": {"sp": {"min": 0, "max": 50, "initial": 20}}}
    )
    hass.states.async_set("button.bell", "unknown")
    presses = applying_service(hass, "button", "press", lambda data: {})
    events: list[Any] = []
    hass.bus.async_listen(EVENT_WRITE, events.append)
    calls: list[Any] = []
    hass.bus.async_listen("call_service", calls.append)
    b, client = await serve(
        point("input_number.sp", HR, 0, DataType.UINT16, key="sp"),
        point("button.bell", CO, 0, key="bell"),
    )
    for _ in range(3):  # a PLC rewriting its set-point and its bell every scan
        assert not (await client.write_register(0, 20)).isError()
        assert not (await client.write_coil(0, True)).isError()
    await hass.async_block_till_done()
    assert [c.data["domain"] for c in calls] == ["button"] * 3  # a press is no state
    assert len(presses) == 3
    assert [e.data["entity_id"] for e in events] == ["button.bell"] * 3
    assert b.counters["unchanged"] == 3
    assert not (await client.write_register(0, 21)).isError()
    assert hass.states.get("input_number.sp").state == "21.0"  # type: ignore[union-attr]


@pytest.mark.parametrize(("state", "calls"), [("open", 0), ("closing", 1), ("opening", 1)])
async def test_a_moving_cover_is_opened_although_it_reads_1_like_an_open_one(
    hass: HomeAssistant, serve: Serve, state: str, calls: int
) -> None:
    hass.states.async_set("cover.gate", state)
    opened = applying_service(hass, "cover", "open_cover", lambda data: {})
    _, client = await serve(point("cover.gate", CO, 0))
    assert (await client.read_coils(0, count=1)).bits[0] is True  # anything but closed reads 1
    assert not (await client.write_coil(0, True)).isError()
    assert len(opened) == calls


async def test_write_mode_always_calls_for_every_write(hass: HomeAssistant, serve: Serve) -> None:
    assert await async_setup_component(
        hass, "input_number", {"input_number": {"sp": {"min": 0, "max": 50, "initial": 20}}}
    )
    events: list[Any] = []
    hass.bus.async_listen(EVENT_WRITE, events.append)
    _, client = await serve(
        point("input_number.sp", HR, 0, DataType.UINT16, key="sp"), write_modes={"sp": "always"}
    )
    for _ in range(3):
        assert not (await client.write_register(0, 20)).isError()
    await hass.async_block_till_done()
    assert len(events) == 3


async def test_write_mode_on_change_skips_a_trigger_too(hass: HomeAssistant, serve: Serve) -> None:
    hass.states.async_set("timer.tea", "active")
    starts = applying_service(hass, "timer", "start", lambda data: {})
    _, client = await serve(point("timer.tea", CO, 0, key="tea"), write_modes={"tea": "on_change"})
    assert not (await client.write_coil(0, True)).isError()
    assert starts == []


# --- item: hanging service calls -----------------------------------------------------------------


async def test_a_write_to_an_entity_whose_call_hangs_answers_busy_at_once(
    hass: HomeAssistant, serve: Serve
) -> None:
    hass.states.async_set("switch.stuck", "off")
    hass.states.async_set("switch.fine", "off")
    release = asyncio.Event()
    started: list[str] = []

    async def turn_on(call: ServiceCall) -> None:
        started.append(call.data["entity_id"])
        if call.data["entity_id"] == "switch.stuck":
            await release.wait()
        hass.states.async_set(call.data["entity_id"], "on")

    hass.services.async_register("switch", "turn_on", turn_on)
    turned_off = applying_service(hass, "switch", "turn_off", lambda data: {})
    events: list[Any] = []
    hass.bus.async_listen(EVENT_WRITE, events.append)
    b, client = await serve(
        point("switch.stuck", CO, 0), point("switch.fine", CO, 1), write_timeout=0.05
    )
    assert (await client.write_coil(0, True)).exception_code == SERVER_DEVICE_BUSY
    for _ in range(5):  # the PLC retries against the hung integration
        assert (await client.write_coil(0, True)).exception_code == SERVER_DEVICE_BUSY
    assert started == ["switch.stuck"]  # no new call, no new task per retry
    assert b.counters["busy"] == 5
    assert not (await client.write_coil(1, True)).isError()  # other entities are not blocked
    # a background task: Home Assistant (its start, async_block_till_done) does not wait for it
    await asyncio.wait_for(hass.async_block_till_done(), 5)
    await hass.async_block_till_done()
    assert [(e.data["entity_id"], e.data["result"]) for e in events] == [
        ("switch.stuck", "timeout"),
        ("switch.fine", "applied"),
    ]
    release.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not (await client.write_coil(0, False)).isError()  # free again once it returned
    assert len(turned_off) == 1


# --- item: float32 set-points on a step grid -----------------------------------------------------


async def test_float32_setpoint_on_a_tenth_grid_is_written(
    hass: HomeAssistant, serve: Serve
) -> None:
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"sp": {"min": 7, "max": 35, "step": 0.1, "initial": 20}}},
    )
    _, client = await serve(point("input_number.sp", HR, 0))
    assert not (await client.write_registers(0, floats(client, 21.3))).isError()
    assert hass.states.get("input_number.sp").state == "21.3"  # type: ignore[union-attr]


# --- item: a service schema refusing the value ---------------------------------------------------


async def test_a_value_the_service_schema_refuses_answers_illegal_data_value_and_logs_once(
    hass: HomeAssistant, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    hass.states.async_set("counter.cycles", "3")  # no minimum: the binding lets -5 through
    called: list[ServiceCall] = []
    hass.services.async_register(
        "counter",
        "set_value",
        called.append,
        schema=cv.make_entity_service_schema(
            {probatio.Required("value"): probatio.All(int, probatio.Range(min=0))}
        ),
    )
    _, client = await serve(point("counter.cycles", HR, 0, DataType.INT32))
    registers = client.convert_to_registers(-5, client.DATATYPE.INT32)
    for _ in range(3):
        assert (await client.write_registers(0, registers)).exception_code == ILLEGAL_DATA_VALUE
    assert called == []
    assert [r.levelname for r in caplog.records if r.levelno >= logging.WARNING] == ["WARNING"]
    assert "refused the value" in caplog.text
