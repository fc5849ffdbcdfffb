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


def mbpoll_run(port: int, *args: str, values: tuple[str, ...] = ()) -> tuple[int, str]:
    """Run mbpoll once against 127.0.0.1 (values to write come after the host)."""
    tool = require_tool("mbpoll")
    cmd = [tool, "-m", "tcp", "-p", str(port), "-a", "1", "-1", "-0", *args, "127.0.0.1", *values]
    res = run_tool(*cmd)
    return res.returncode, res.stdout + res.stderr


def mbpoll(port: int, *args: str, values: tuple[str, ...] = ()) -> list[str]:
    """Run mbpoll once; the printed values ('[ref]: value' lines), as text."""
    code, out = mbpoll_run(port, *args, values=values)
    assert code == 0, out
    return [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("[")]


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


def find_owned(states: dict[str, dict], domain: str, name: str) -> str:
    """Entity id of an owned point's entity, by its name."""
    for entity_id, state in states.items():
        if entity_id.startswith(f"{domain}.") and state["attributes"].get(
            "friendly_name", ""
        ).endswith(name):
            return entity_id
    raise AssertionError(f"no {domain} entity named {name}: {sorted(states)}")


def row_at(area: str, address: int) -> Row:
    return next(r for r in DEMO_TABLE if r.area == area and r.address == address)


async def test_writes_change_entities_and_fire_events_with_the_client(
    ha: HA, modbus: AsyncModbusTcpClient
) -> None:
    async with ha.client() as hass, hass.websocket() as ws:
        await ws.subscribe_events("modbus_server_write")
        states = await hass.states()
        remote = find_owned(states, "switch", "Remote enable")
        offset = find_owned(states, "number", "Setpoint offset")
        pump_on = states["input_boolean.pump"]["state"] == "on"
        writes = [
            (modbus.write_coil(0, not pump_on), "input_boolean.pump", "off" if pump_on else "on"),
            (modbus.write_coil(1, True), "switch.heater", "on"),
            (modbus.write_coil(2, True), remote, "on"),
            (
                modbus.write_registers(0, encode(row_at("holding_register", 0), 22.5)),
                "input_number.setpoint",
                22.5,
            ),
            (modbus.write_register(2, 2), "input_select.mode", "comfort"),
            (modbus.write_register(3, 55), "number.flow_limit", 55.0),
            (
                modbus.write_registers(4, encode(row_at("holding_register", 4), "Plant-7")),
                "input_text.site_name",
                "Plant-7",
            ),
            (
                modbus.write_registers(12, encode(row_at("holding_register", 12), 2000)),
                "input_number.pump_speed",
                2000.0,
            ),
            (modbus.write_register(14, 123), offset, 12.3),
        ]
        for request, entity_id, want in writes:
            result = await request
            assert not result.isError(), f"{entity_id}: {result}"

            def matches(state: dict, want: object = want) -> bool:
                if isinstance(want, float):
                    try:
                        return math.isclose(float(state["state"]), want, abs_tol=1e-6)
                    except ValueError:
                        return False
                return state["state"] == want

            await hass.wait_state(entity_id, matches, timeout=5)
        # Every applied write fired an event naming this client.
        events = []
        while len(events) < len(writes):
            events.append(await ws.next_event(timeout=5))
        await ws.close()
    sockname = modbus.ctx.transport.get_extra_info("sockname") if modbus.ctx else None
    by_entity = {e["data"]["entity_id"]: e["data"] for e in events}
    for _request, entity_id, _want in writes:
        data = by_entity[entity_id]
        assert data["client"] == "127.0.0.1"
        assert data["entry_id"] == ha.entry_id
        if sockname:
            assert data["client_port"] == sockname[1]
    setpoint = by_entity["input_number.setpoint"]
    assert (setpoint["area"], setpoint["address"], setpoint["value"]) == (
        "holding_register",
        0,
        22.5,
    )


async def test_mbpoll_write_changes_the_entity_and_names_the_client(ha: HA) -> None:
    async with ha.client() as hass, hass.websocket() as ws:
        await ws.subscribe_events("modbus_server_write")
        mbpoll(ha.modbus_port, "-t", "4:float", "-B", "-r", "0", values=("23.5",))
        await hass.wait_state("input_number.setpoint", lambda s: s["state"] == "23.5")
        event = await ws.next_event()
        await ws.close()
    assert event["data"]["client"] == "127.0.0.1"
    assert event["data"]["entity_id"] == "input_number.setpoint"
    assert event["data"]["values"] == encode(row_at("holding_register", 0), 23.5)


async def test_out_of_range_writes_answer_03_and_change_nothing(
    ha: HA, modbus: AsyncModbusTcpClient
) -> None:
    async with ha.client() as hass:
        before = await hass.states()
        bad = [
            modbus.write_registers(0, encode(row_at("holding_register", 0), 99.0)),  # max 30
            modbus.write_registers(0, encode(row_at("holding_register", 0), 21.3)),  # step 0.5
            modbus.write_register(2, 9),  # 4 options
            modbus.write_registers(12, encode(row_at("holding_register", 12), 5000)),  # max 3000
            modbus.write_register(3, 101),  # template number max 100
            modbus.write_coil(15, True),  # no such coil: 02, not 03
        ]
        codes = []
        for request in bad:
            result = await request
            assert result.isError()
            codes.append(result.exception_code)
        assert codes == [3, 3, 3, 3, 3, 2]
        # mbpoll sees the same exception
        code, out = mbpoll_run(ha.modbus_port, "-t", "4:float", "-B", "-r", "0", values=("99",))
        assert code != 0
        assert "illegal data value" in out.lower()
        await asyncio.sleep(0.3)
        after = await hass.states()
    for entity_id in (
        "input_number.setpoint",
        "input_select.mode",
        "input_number.pump_speed",
        "number.flow_limit",
    ):
        assert after[entity_id]["state"] == before[entity_id]["state"], entity_id
        assert after[entity_id]["last_updated"] == before[entity_id]["last_updated"], entity_id


async def test_unavailable_entity_reads_per_its_policy(
    ha: HA, modbus: AsyncModbusTcpClient
) -> None:
    async with ha.client() as hass:
        await hass.call(
            "input_boolean", "turn_off", {"entity_id": "input_boolean.outdoor_sensor_ok"}
        )
        try:
            await hass.wait_state(
                "sensor.outdoor_temperature", lambda s: s["state"] == "unavailable"
            )
            await hass.wait_state(
                "binary_sensor.outdoor_frost", lambda s: s["state"] == "unavailable"
            )
            # int16 without unavailable value: its minimum, 0x8000
            assert await read_row(modbus, row_at("input_register", 4)) == [0x8000]
            # float32 with unavailable_value -999
            row = row_at("input_register", 5)
            assert await read_row(modbus, row) == encode(row, -999.0)
            # bool without unavailable value: Server Device Failure (04), in a block read too
            result = await modbus.read_discrete_inputs(0, count=3)
            assert result.isError()
            assert result.exception_code == 4
            # The rest of the table still reads.
            assert (await modbus.read_discrete_inputs(0, count=2)).bits[:2] is not None
        finally:
            await hass.call(
                "input_boolean", "turn_on", {"entity_id": "input_boolean.outdoor_sensor_ok"}
            )
        state = await hass.wait_state(
            "sensor.outdoor_temperature", lambda s: s["state"] != "unavailable"
        )
    assert await read_row(modbus, row_at("input_register", 4)) == [
        round(float(state["state"]) * 10) & 0xFFFF
    ]
