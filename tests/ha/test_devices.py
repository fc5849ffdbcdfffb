"""Devices behind one server: their flows, unit id rules, and edits applied live.

Every test runs a real server and, where it is about what clients see, a real pymodbus
client that stays connected across the edits (a reload would close it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.modbus_server.runtime import compile_table

from .conftest import DEVICE_ID, point_data, stored_rows, v2_entry, v2_server_data

pytestmark = pytest.mark.usefixtures("socket_enabled")


def rows(entity_id: str, count: int = 10) -> list[dict[str, Any]]:
    """`count` int16 holding registers HR 0.. fed by one entity."""
    return [
        {**point_data("holding_register", i, "int16", entity_id=entity_id), "id": f"r{i}"}
        for i in range(count)
    ]


@pytest.fixture
async def served(
    hass: HomeAssistant, hass_storage: dict[str, Any], port: int
) -> AsyncGenerator[MockConfigEntry]:
    """A server whose one device answers unit 1 with HR 0..9 = sensor.a, plus an owned coil."""
    hass.states.async_set("sensor.a", "1")
    hass.states.async_set("sensor.b", "2")
    owned = {**point_data("coil", 0, "bool", name="Ack", writable=True), "id": "ack"}
    entry = v2_entry(hass_storage, port, [*rows("sensor.a"), owned], unit_ids=[1])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
async def client(served: MockConfigEntry, port: int) -> AsyncGenerator[AsyncModbusTcpClient]:
    modbus = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=3)
    assert await modbus.connect()
    yield modbus
    modbus.close()


async def device_form(hass: HomeAssistant, entry: MockConfigEntry, **fields: Any) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "device"), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.MENU  # a blank device, or one from a profile
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "blank"}
    )
    assert result["step_id"] == "blank"
    form = {
        "name": "Meter",
        "unit_ids": "2",
        "answer_0": False,
        "answer_255": False,
        "unmapped": "error",
        "read_only": False,
        "identification": {},
        **fields,
    }
    return await hass.config_entries.subentries.async_configure(result["flow_id"], form)


async def test_a_second_device_is_served_live_on_its_unit_id(
    hass: HomeAssistant, served: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    server = served.runtime_data.server
    assert (await client.read_holding_registers(0, count=1, device_id=2)).exception_code == 0x0B
    result = await device_form(
        hass, served, unit_ids="2", answer_0=True, identification={"vendor_name": "ACME"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert served.runtime_data.server is server  # no reload
    assert client.connected
    # unit 2 (and 0) now reach the new device: its empty table refuses the address (02)
    assert (await client.read_holding_registers(0, count=1, device_id=2)).exception_code == 2
    assert (await client.read_holding_registers(0, count=1, device_id=0)).exception_code == 2
    assert (await client.read_holding_registers(0, count=1, device_id=1)).registers == [1]
    identification = await client.read_device_information(device_id=2)
    assert identification.information[0] == b"ACME"


@pytest.mark.parametrize(
    ("unit_ids", "error"),
    [
        ("1", "unit_id_taken"),
        ("", "any_unit_needs_single"),
        ("2, x, 300", "invalid_unit_ids"),
    ],
)
async def test_unit_id_clashes_are_refused_in_the_form(
    hass: HomeAssistant, served: MockConfigEntry, unit_ids: str, error: str
) -> None:
    result = await device_form(hass, served, unit_ids=unit_ids)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"unit_ids": error}
    assert len(served.subentries) == 1


async def test_no_device_beside_one_that_answers_every_unit_id(
    hass: HomeAssistant, hass_storage: dict[str, Any], port: int
) -> None:
    entry = v2_entry(hass_storage, port)  # its device answers every unit id
    entry.add_to_hass(hass)
    result = await device_form(hass, entry, unit_ids="2")
    assert result["errors"] == {"unit_ids": "other_answers_every"}
    assert result["description_placeholders"]["device"] == "Plant"


async def test_device_settings_change_live_and_keep_the_client_connected(
    hass: HomeAssistant, served: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    server = served.runtime_data.server
    result = await served.start_subentry_reconfigure_flow(hass, DEVICE_ID)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["step_id"] == "settings"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Plant",
            "unit_ids": "5",
            "answer_0": False,
            "answer_255": False,
            "unmapped": "zero",
            "read_only": True,
            "identification": {},
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert served.runtime_data.server is server
    assert (await client.read_holding_registers(0, count=1, device_id=5)).registers == [1]
    assert (await client.read_holding_registers(0, count=1, device_id=1)).exception_code == 0x0B
    assert (await client.read_holding_registers(500, count=1, device_id=5)).registers == [0]
    assert (await client.write_coil(0, True, device_id=5)).exception_code == 1  # read-only


async def test_rows_pick_their_device_when_the_server_has_several(
    hass: HomeAssistant, served: MockConfigEntry
) -> None:
    assert (await device_form(hass, served, name="Meter", unit_ids="2"))["type"] is (
        FlowResultType.CREATE_ENTRY
    )
    await hass.async_block_till_done()
    meter = next(s for s in served.subentries.values() if s.title == "Meter").subentry_id
    result = await hass.config_entries.subentries.async_init(
        (served.entry_id, "point"), context={"source": "user"}
    )
    assert result["step_id"] == "device"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"device": meter}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "owned"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Energy", "area": "input_register"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"address": 0, "data_type": "uint16", "scale": 1, "offset": 0, "advanced": {}},
    )
    assert result["reason"] == "row_added"
    await hass.async_block_till_done()
    assert [p.name for p in served.runtime_data.devices[meter].register_map.points] == ["Energy"]
    assert len(stored_rows(hass)) == 11  # the first device's table is untouched
    entity = er.async_get(hass).async_get("sensor.meter_energy")
    assert entity is not None
    assert entity.config_subentry_id == meter  # the owned entity belongs to its device


async def test_deleting_an_owned_row_removes_its_entity_without_a_reload(
    hass: HomeAssistant, served: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    assert hass.states.get("switch.plant_ack") is not None
    result = await served.start_subentry_reconfigure_flow(hass, DEVICE_ID)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "delete_rows"}
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["errors"] == {"rows": "no_rows_selected"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"rows": ["ack", "r9"]}
    )
    assert result["reason"] == "rows_deleted"
    await hass.async_block_till_done()
    assert hass.states.get("switch.plant_ack") is None
    assert er.async_get(hass).async_get("switch.plant_ack") is None
    assert set(stored_rows(hass)) == {f"r{i}" for i in range(9)}
    assert (await client.read_holding_registers(9, count=1, device_id=1)).exception_code == 2
    assert client.connected


async def test_a_removed_device_stops_answering_live(
    hass: HomeAssistant, served: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    await device_form(hass, served, name="Meter", unit_ids="2")
    await hass.async_block_till_done()
    meter = next(s for s in served.subentries.values() if s.title == "Meter").subentry_id
    assert (await client.read_holding_registers(0, count=1, device_id=2)).exception_code == 2
    assert hass.config_entries.async_remove_subentry(served, meter)
    await hass.async_block_till_done()
    assert (await client.read_holding_registers(0, count=1, device_id=2)).exception_code == 0x0B
    assert (await client.read_holding_registers(0, count=1, device_id=1)).registers == [1]


async def test_100_table_edits_while_a_client_polls_never_mix_tables_or_disconnect(
    hass: HomeAssistant, served: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    """The issue's proof, through the integration: each edit is a TableStore save."""
    server = served.runtime_data.server
    tables = served.runtime_data.tables
    responses: list[tuple[int, ...]] = []
    stop = asyncio.Event()

    async def poll() -> None:
        while not stop.is_set():
            response = await client.read_holding_registers(0, count=10, device_id=1)
            assert not response.isError(), response
            responses.append(tuple(response.registers))

    poller = asyncio.create_task(poll())
    for edit in range(100):
        source = "sensor.b" if edit % 2 == 0 else "sensor.a"
        await tables.async_set_rows(DEVICE_ID, rows(source))
        await asyncio.sleep(0.002)  # let requests in between the edits
    stop.set()
    await poller

    assert client.connected
    assert served.runtime_data.server is server
    assert server.stats.connections == 1  # the same connection the whole time
    assert len(responses) > 10
    assert set(responses) == {(1,) * 10, (2,) * 10}  # both tables, never half of each


async def test_a_table_compiles_off_the_loop_and_a_late_compile_never_undoes_a_later_edit(
    hass: HomeAssistant, served: MockConfigEntry, client: AsyncModbusTcpClient
) -> None:
    """Requests are served while an edit compiles; edits apply in the order they were made.

    The first edit's compile is held until the second edit was made: finishing last, it must
    not replace the second edit's table.
    """
    real = compile_table
    started, release = threading.Event(), threading.Event()
    threads: list[str] = []

    def held_first(table: Any, unmapped: Any, previous: Any) -> Any:
        threads.append(threading.current_thread().name)
        if len(threads) == 1:
            started.set()
            assert release.wait(10)
        return real(table, unmapped, previous)

    tables = served.runtime_data.tables
    with patch("custom_components.modbus_server.compile_table", new=held_first):
        await tables.async_set_rows(DEVICE_ID, rows("sensor.b"))  # edit 1: HR 0..9 = 2
        assert await hass.async_add_executor_job(started.wait, 10)
        # edit 1 is compiling: the loop still answers, from the table before it
        response = await client.read_holding_registers(0, count=10, device_id=1)
        assert response.registers == [1] * 10
        await tables.async_set_rows(DEVICE_ID, rows("sensor.b", 5))  # edit 2: HR 0..4 only
        release.set()
        await hass.async_block_till_done()

    assert threading.main_thread().name not in threads
    assert (await client.read_holding_registers(0, count=5, device_id=1)).registers == [2] * 5
    assert (await client.read_holding_registers(5, count=1, device_id=1)).exception_code == 2
    assert len(served.runtime_data.devices[DEVICE_ID].register_map.points) == 5


async def test_owned_rows_added_changed_and_moved_live_follow_with_their_entities(
    hass: HomeAssistant, served: MockConfigEntry
) -> None:
    server = served.runtime_data.server
    tables = served.runtime_data.tables
    registry = er.async_get(hass)
    setpoint = {**point_data("holding_register", 20, "int16", name="Setpoint"), "id": "sp"}
    await tables.async_set_rows(DEVICE_ID, [*tables.rows(DEVICE_ID), setpoint])
    await hass.async_block_till_done()
    assert hass.states.get("number.plant_setpoint") is not None  # added without a reload
    await hass.services.async_call(
        "number", "set_value", {"entity_id": "number.plant_setpoint", "value": 7}, blocking=True
    )
    # a changed scale changes the entity's limits; the value is kept (the store is handed on)
    scaled = {**setpoint, "scale": 0.5}
    await tables.async_set_rows(
        DEVICE_ID, [scaled if r["id"] == "sp" else r for r in tables.rows(DEVICE_ID)]
    )
    await hass.async_block_till_done()
    state = hass.states.get("number.plant_setpoint")
    assert state is not None
    assert float(state.state) == 7
    assert state.attributes["step"] == 0.5
    # moved to the input registers: the number goes, a sensor with the same row id comes
    moved = {**scaled, "area": "input_register"}
    await tables.async_set_rows(
        DEVICE_ID, [moved if r["id"] == "sp" else r for r in tables.rows(DEVICE_ID)]
    )
    await hass.async_block_till_done()
    assert registry.async_get("number.plant_setpoint") is None
    sensor = registry.async_get_entity_id("sensor", "modbus_server", "sp")
    assert sensor is not None
    assert served.runtime_data.server is server


async def test_unknown_unit_ids_can_get_no_answer_at_all(
    hass: HomeAssistant, hass_storage: dict[str, Any], port: int
) -> None:
    data = {**v2_server_data(port), "unknown_unit": "silent"}
    entry = v2_entry(hass_storage, port, rows("sensor.a"), data=data, unit_ids=[1])
    hass.states.async_set("sensor.a", "1")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # FC3 HR 0 x1 for unit 9 (nobody), then for unit 1: only the second is answered
        writer.write(bytes.fromhex("000100000006090300000001000200000006010300000001"))
        await writer.drain()
        header = await asyncio.wait_for(reader.readexactly(7), 3)
        assert header[:2] == b"\x00\x02"  # the answer to the second request: unit 9 got none
        assert header[6] == 1
        writer.close()
    finally:
        await hass.config_entries.async_unload(entry.entry_id)


async def test_export_names_the_device_when_the_server_has_several(
    hass: HomeAssistant, served: MockConfigEntry
) -> None:
    await device_form(hass, served, name="Meter", unit_ids="2")
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "modbus_server",
            "export_register_map",
            {"config_entry_id": served.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "device_required"
    response = await hass.services.async_call(
        "modbus_server",
        "export_register_map",
        {"config_entry_id": served.entry_id, "device": "Plant"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert len(response["table"]["points"]) == 11  # type: ignore[index,arg-type]
