"""A real pymodbus client talks to a real Server whose callbacks are the bridge."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_mock_service,
)

from custom_components.modbus_server.bridge import Bridge
from custom_components.modbus_server.const import EVENT_WRITE
from custom_components.modbus_server.modbus import Area
from custom_components.modbus_server.registermap import DataType

from .bridge_helpers import bridge, point, serving


@pytest.fixture
async def served(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[tuple[Bridge, AsyncModbusTcpClient]]:
    """input_number/input_boolean helpers, a mocked thermostat, a server and a client."""
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"level": {"min": 0, "max": 50, "step": 0.5, "initial": 10}}},
    )
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"pump": {"initial": True}}}
    )
    hass.states.async_set(
        "climate.hall",
        "heat",
        {"current_temperature": 19.25, "temperature": 21, "min_temp": 5, "max_temp": 30},
    )
    b = bridge(
        hass,
        point("input_boolean.pump", Area.COIL, 0),
        point("input_number.level", Area.HOLDING_REGISTER, 0, DataType.INT16, scale=0.1),
        point("climate.hall#temperature", Area.HOLDING_REGISTER, 1, DataType.FLOAT32),
        point("climate.hall#current_temperature", Area.INPUT_REGISTER, 0, DataType.FLOAT32),
        point("input_boolean.pump", Area.DISCRETE_INPUT, 0),
    )
    async with serving(b) as client:
        yield b, client


async def test_reads_and_writes_over_tcp(
    hass: HomeAssistant, served: tuple[Bridge, AsyncModbusTcpClient]
) -> None:
    _, client = served
    events = async_capture_events(hass, EVENT_WRITE)  # in order (no executor thread)
    setpoint = async_mock_service(hass, "climate", "set_temperature")

    coils = await client.read_coils(0, count=1)
    assert coils.bits[0] is True
    registers = await client.read_holding_registers(0, count=3)
    assert registers.registers[0] == 100
    assert client.convert_from_registers(
        registers.registers[1:], client.DATATYPE.FLOAT32
    ) == pytest.approx(21.0)
    current = await client.read_input_registers(0, count=2)
    assert client.convert_from_registers(
        current.registers, client.DATATYPE.FLOAT32
    ) == pytest.approx(19.25)

    assert not (await client.write_coil(0, False)).isError()
    assert hass.states.get("input_boolean.pump").state == "off"  # type: ignore[union-attr]
    assert (await client.read_discrete_inputs(0, count=1)).bits[0] is False

    assert not (await client.write_register(0, 335)).isError()
    assert hass.states.get("input_number.level").state == "33.5"  # type: ignore[union-attr]

    floats = client.convert_to_registers(22.5, client.DATATYPE.FLOAT32)
    assert not (await client.write_registers(1, floats)).isError()
    assert setpoint[0].data == {"entity_id": "climate.hall", "temperature": 22.5}

    await hass.async_block_till_done()
    assert [e.data["entity_id"] for e in events] == [
        "input_boolean.pump",
        "input_number.level",
        "climate.hall",
    ]
    assert all(e.data["client"] == "127.0.0.1" for e in events)
    assert all(isinstance(e.data["client_port"], int) for e in events)


async def test_refused_values_are_exceptions_on_the_wire(
    hass: HomeAssistant, served: tuple[Bridge, AsyncModbusTcpClient]
) -> None:
    _, client = served
    setpoint = async_mock_service(hass, "climate", "set_temperature")
    too_high = await client.write_register(0, 600)  # 60.0 > max 50
    assert too_high.isError()
    assert too_high.exception_code == 3
    off_step = await client.write_register(0, 101)  # 10.1 is not on the 0.5 grid
    assert off_step.exception_code == 3
    assert hass.states.get("input_number.level").state == "10.0"  # type: ignore[union-attr]
    hot = client.convert_to_registers(45.0, client.DATATYPE.FLOAT32)
    assert (await client.write_registers(1, hot)).exception_code == 3
    assert setpoint == []
    read_only_area = await client.write_register(5, 1)
    assert read_only_area.exception_code == 2
    hass.states.async_set("climate.hall", "unavailable")
    assert (await client.read_input_registers(0, count=2)).registers == [0x7FC0, 0]  # NaN
