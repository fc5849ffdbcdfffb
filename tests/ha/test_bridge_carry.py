"""A live edit's view, carried over from the running bridge, equals one built from scratch.

Random tables (registers and bits, multi-register values, bit points sharing a register,
owned rows, unavailable sources, both unmapped policies) get random edits (rows changed,
removed, added; states changed in between), each applied as a live edit applies it
(`DeviceRuntime(previous=)`, swapped in by `ServerRuntime`). After every edit the running
bridge's view, its unservable positions and its holes must be what a bridge built from
nothing over the same table holds, and every block read must answer the same.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.modbus_server.bridge import Bridge
from custom_components.modbus_server.modbus import Area, ModbusExceptionResponse, Server
from custom_components.modbus_server.registermap import MapValidationError
from custom_components.modbus_server.runtime import DeviceRuntime, DeviceSettings, ServerRuntime
from custom_components.modbus_server.table_store import ROW_ID

from .conftest import point_data

SENSORS = [f"sensor.s{i}" for i in range(8)]
SWITCHES = [f"input_boolean.b{i}" for i in range(6)]
REGISTER_TYPES = ("int16", "uint16", "float32", "uint32")
SIZE = {"int16": 1, "uint16": 1, "float32": 2, "uint32": 2}


def random_row(rng: random.Random, row_id: str) -> dict[str, Any]:
    """One row of any kind at a random low address (it may clash: then it is not applied)."""
    kind = rng.choice(("register", "register", "bit_in_register", "bit", "owned"))
    if kind == "bit":
        area = rng.choice(("coil", "discrete_input"))
        data = point_data(area, rng.randrange(40), "bool", entity_id=rng.choice(SWITCHES))
    elif kind == "bit_in_register":
        area = rng.choice(("holding_register", "input_register"))
        data = point_data(
            area, rng.randrange(30), "bit", bit=rng.randrange(4), entity_id=rng.choice(SWITCHES)
        )
    else:
        area = rng.choice(("holding_register", "input_register"))
        data_type = rng.choice(REGISTER_TYPES)
        source = None if kind == "owned" else rng.choice(SENSORS)
        data = point_data(area, rng.randrange(30), data_type, entity_id=source)
        data["scale"] = rng.choice((1.0, 0.1, 10.0))
        if rng.random() < 0.3:
            data["unavailable_value"] = 0
        if kind == "owned":
            data["writable"] = True
    return {**data, ROW_ID: row_id}


def set_random_states(hass: HomeAssistant, rng: random.Random, changes: int) -> None:
    for _ in range(changes):
        if rng.random() < 0.5:
            value = rng.choice(("unavailable", "12", "-3", "1e9", "not a number", "7.5"))
            hass.states.async_set(rng.choice(SENSORS), value)
        else:
            hass.states.async_set(rng.choice(SWITCHES), rng.choice(("on", "off", "unavailable")))


def edit(rng: random.Random, rows: list[dict[str, Any]], serial: int) -> list[dict[str, Any]]:
    """The rows after one random edit of a few rows."""
    rows = list(rows)
    for _ in range(rng.randint(1, 3)):
        what = rng.random()
        if rows and what < 0.35:
            rows.pop(rng.randrange(len(rows)))
        elif rows and what < 0.7:
            index = rng.randrange(len(rows))
            changed = dict(rows[index])
            if changed["data_type"] in SIZE:
                changed["scale"] = rng.choice((1.0, 0.5, 2.0, 100.0))
            else:
                changed["address"] = rng.randrange(40)
            rows[index] = changed
        else:
            rows.append(random_row(rng, f"new{serial}-{len(rows)}"))
    return rows


def views_of(bridge: Bridge) -> tuple[Any, ...]:
    return (
        {area: list(view) for area, view in bridge._view.items()},
        {area: bytes(flags) for area, flags in bridge._unservable.items()},
        dict(bridge._holes),
    )


def read_all(bridge: Bridge) -> list[object]:
    """Every block of up to 4 positions of every area: its values or its exception."""
    answers: list[object] = []
    for area in Area:
        for address in range(45):
            for count in (1, 2, 4):
                try:
                    answers.append(list(bridge.on_read(None, area, address, count)))
                except ModbusExceptionResponse as err:
                    answers.append(type(err).__name__)
    return answers


@pytest.mark.parametrize("unmapped", ["error", "zero"])
@pytest.mark.parametrize("seed", range(6))
async def test_a_carried_over_view_equals_one_built_from_scratch(
    hass: HomeAssistant, seed: int, unmapped: str
) -> None:
    rng = random.Random(seed)
    set_random_states(hass, rng, 30)
    for entity_id in (*SENSORS, *SWITCHES):
        if hass.states.get(entity_id) is None:
            hass.states.async_set(entity_id, "1" if entity_id.startswith("sensor") else "on")
    settings = DeviceSettings.from_data(
        "d", {"name": "d", "unit_ids": [1], "unmapped": unmapped}, revision="1"
    )
    rows: list[dict[str, Any]] = []
    while len(rows) < 25:  # a valid start table
        candidate = [*rows, random_row(rng, f"r{len(rows)}")]
        try:
            DeviceRuntime(hass, settings, candidate)
        except MapValidationError:
            continue
        rows = candidate
    runtime = ServerRuntime(Server(host="127.0.0.1", port=0))
    runtime.async_set_device(DeviceRuntime(hass, settings, rows))
    applied = 0
    for serial in range(40):
        set_random_states(hass, rng, 3)
        edited = edit(rng, rows, serial)
        running = runtime.devices["d"]
        try:
            new = DeviceRuntime(hass, settings, edited, previous=running)
        except MapValidationError:
            continue  # the flows refuse such an edit; the running table stays
        runtime.async_set_device(new)
        rows, applied = edited, applied + 1
        scratch = Bridge(hass, new.register_map, new.owned)
        assert views_of(new.bridge) == views_of(scratch), f"edit {serial}"
        assert read_all(new.bridge) == read_all(scratch), f"edit {serial}"
        set_random_states(hass, rng, 3)  # the carried-over view keeps following the states
        scratch = Bridge(hass, new.register_map, new.owned)
        assert views_of(new.bridge) == views_of(scratch), f"after edit {serial}"
    assert applied >= 10
    runtime.async_stop()
