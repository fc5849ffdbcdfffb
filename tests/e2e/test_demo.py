"""A real Home Assistant with the demo table, read and written by real Modbus clients."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
from hasslib import DEMO_TABLE, Row
from pymodbus.client import AsyncModbusTcpClient

from tests.conftest import require_tool

from .conftest import HA, run_tool
from .helpers import decode, encode, entity_value

pytestmark = pytest.mark.e2e

ENTITY_ROWS = [row for row in DEMO_TABLE if row.entity_id is not None]


@pytest.fixture
async def modbus(ha: HA) -> AsyncIterator[AsyncModbusTcpClient]:
    """A connected pymodbus client."""
    client = AsyncModbusTcpClient("127.0.0.1", port=ha.modbus_port, timeout=5, retries=0)
    assert await client.connect()
    yield client
    client.close()
    await asyncio.sleep(0)


async def read_row(client: AsyncModbusTcpClient, row: Row) -> list[int]:
    """The registers (or the single bit) of a row, read with pymodbus."""
    if row.area == "coil":
        result = await client.read_coils(row.address, count=1)
    elif row.area == "discrete_input":
        result = await client.read_discrete_inputs(row.address, count=1)
    elif row.area == "input_register":
        result = await client.read_input_registers(row.address, count=row.count)
    else:
        result = await client.read_holding_registers(row.address, count=row.count)
    assert not result.isError(), f"{row}: {result}"
    if row.area in ("coil", "discrete_input"):
        return [int(result.bits[0])]
    return list(result.registers)


def expected_words(row: Row, states: dict[str, dict]) -> list[int]:
    value = entity_value(states[row.entity_id])
    if row.data_type == "bit":
        return [value << row.bit]
    return encode(row, value)


def merge_bits(words: list[int], row: Row) -> list[int]:
    """Only the row's own bit of a shared register."""
    return [words[0] & (1 << row.bit)] if row.data_type == "bit" else words


async def test_pymodbus_reads_every_row_as_the_entity_states_say(
    ha: HA, modbus: AsyncModbusTcpClient
) -> None:
    async with ha.client() as hass:
        states = await hass.states()
    mismatches = []
    for row in ENTITY_ROWS:
        got = merge_bits(await read_row(modbus, row), row)
        want = expected_words(row, states)
        if got != want:
            mismatches.append(
                f"{row.area} {row.address} {row.data_type} {row.order}: {got} != {want}"
            )
    assert not mismatches, "\n".join(mismatches)
    # Spot-check the decoded values too (the oracle itself against the REST states).
    boiler = float(states["sensor.boiler_temperature"]["state"])
    for row in ENTITY_ROWS:
        if row.entity_id == "sensor.boiler_temperature":
            assert math.isclose(decode(row, await read_row(modbus, row)), boiler, rel_tol=1e-6)


def mbpoll(port: int, *args: str) -> list[str]:
    """Run mbpoll once; the printed values ('[ref]: value' lines), as text."""
    tool = require_tool("mbpoll")
    res = run_tool(tool, "-m", "tcp", "-p", str(port), "-a", "1", "-1", "-0", *args, "127.0.0.1")
    assert res.returncode == 0, res.stdout + res.stderr
    return [
        line.split(":", 1)[1].strip() for line in res.stdout.splitlines() if line.startswith("[")
    ]


async def test_mbpoll_reads_every_data_type_and_word_order(ha: HA) -> None:
    async with ha.client() as hass:
        states = await hass.states()
    boiler = float(states["sensor.boiler_temperature"]["state"])
    energy = int(float(states["sensor.energy_meter"]["state"]))
    outdoor = float(states["sensor.outdoor_temperature"]["state"])
    port = ha.modbus_port
    # float32 ABCD (-B: big-endian word order) and CDAB (mbpoll's default word order)
    assert float(mbpoll(port, "-t", "3:float", "-B", "-r", "0")[0]) == pytest.approx(boiler)
    assert float(mbpoll(port, "-t", "3:float", "-r", "2")[0]) == pytest.approx(boiler)
    # int16 x0.1: mbpoll prints the unsigned value and the signed one in parentheses
    raw = mbpoll(port, "-t", "3", "-r", "4")[0]
    signed = int(raw.split("(")[1].rstrip(")")) if "(" in raw else int(raw)
    assert signed == round(outdoor * 10)
    # uint32 ABCD and CDAB
    assert int(mbpoll(port, "-t", "3:int", "-B", "-r", "7")[0]) == energy
    assert int(mbpoll(port, "-t", "3:int", "-r", "9")[0]) == energy
    # float64 BADC and the strings/int32 DCBA/bits of the holding registers, as raw words
    ir = [int(v.split()[0]) for v in mbpoll(port, "-t", "3", "-r", "11", "-c", "4")]
    row = next(r for r in DEMO_TABLE if r.area == "input_register" and r.address == 11)
    assert decode(row, ir) == pytest.approx(boiler)
    hr = [int(v.split()[0]) for v in mbpoll(port, "-t", "4", "-r", "0", "-c", "16")]
    for row in ENTITY_ROWS:
        if row.area != "holding_register":
            continue
        words = hr[row.address : row.address + row.count]
        assert merge_bits(words, row) == expected_words(row, states), row
    # bits: coils and discrete inputs
    coils = [int(v) for v in mbpoll(port, "-t", "0", "-r", "0", "-c", "2")]
    assert coils == [
        entity_value(states["input_boolean.pump"]),
        entity_value(states["switch.heater"]),
    ]
    inputs = [int(v) for v in mbpoll(port, "-t", "1", "-r", "0", "-c", "3")]
    assert inputs == [
        entity_value(states["binary_sensor.pump_running"]),
        entity_value(states["input_boolean.alarm"]),
        entity_value(states["binary_sensor.outdoor_frost"]),
    ]
