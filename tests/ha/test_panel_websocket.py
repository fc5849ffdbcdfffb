"""The table view's websocket commands against a running server entry (phcc `hass`)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.modbus_server.const import (
    CONF_STALE_AFTER,
    CONF_WRITE_MODE,
    WRITE_MODE_ALWAYS,
)
from custom_components.modbus_server.panel.websocket import ROW_FIELDS
from custom_components.modbus_server.registermap import export_csv
from custom_components.modbus_server.table_store import loaded_table_store

from .conftest import DEVICE_ID, point_data, point_subentry, stored_rows

type Ws = Any
type Command = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """IR 0..1 float32 boiler, IR 2 int16 x0.1 outdoor, HR 0 owned, HR 1 level, HR 10 mirror."""
    return [
        point_subentry(
            point_data("input_register", 0, "float32", entity_id="sensor.boiler", unit="°C"),
            "boiler",
        ),
        point_subentry(
            point_data("input_register", 2, "int16", entity_id="sensor.outdoor", scale=0.1),
            "outdoor",
        ),
        point_subentry(
            point_data("holding_register", 0, "int16", name="Offset", writable=True), "offset"
        ),
        point_subentry(
            point_data(
                "holding_register", 1, "uint16", entity_id="input_number.level", writable=True
            ),
            "level",
        ),
        point_subentry(
            point_data("holding_register", 10, "uint16", entity_id="sensor.outdoor"), "mirror"
        ),
    ]


@pytest.fixture(autouse=True)
async def states(hass: HomeAssistant) -> None:
    """The source entities, before the entry is set up."""
    hass.states.async_set("sensor.boiler", "21.5")
    hass.states.async_set("sensor.outdoor", "-3.2")
    assert await async_setup_component(
        hass, "input_number", {"input_number": {"level": {"min": 0, "max": 100, "initial": 7}}}
    )


@pytest.fixture
async def ws(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> Ws:
    """An admin's websocket."""
    return await hass_ws_client(hass)


@pytest.fixture
def command(ws: Ws, loaded_entry: MockConfigEntry) -> Command:
    """Send a table command for the entry's device; the whole reply."""

    async def send(kind: str, **fields: Any) -> dict[str, Any]:
        device = {"entry_id": loaded_entry.entry_id, "device_id": DEVICE_ID}
        await ws.send_json_auto_id({"type": f"modbus_server/table/{kind}", **device, **fields})
        return dict(await ws.receive_json())

    return send


def rows_by_key(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The compact rows as dicts."""
    fields = result["fields"]
    return {row[0]: dict(zip(fields, row, strict=True)) for row in result["rows"]}


def float32_cells(value: float) -> list[int]:
    """Big-endian float32 registers."""
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low]


async def test_servers_lists_each_server_with_its_device_and_row_count(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, ws: Ws
) -> None:
    await ws.send_json_auto_id({"type": "modbus_server/table/servers"})
    reply = await ws.receive_json()
    assert reply["success"]
    assert reply["result"]["servers"] == [
        {
            "entry_id": "01PLANT",
            "title": "Plant",
            "state": "loaded",
            "devices": [{"id": DEVICE_ID, "name": "Plant", "unit_ids": None, "rows": 5}],
        }
    ]


async def test_rows_are_one_compact_payload_with_the_values_clients_read(
    command: Command,
) -> None:
    reply = await command("rows")
    assert reply["success"]
    result = reply["result"]
    assert result["fields"] == list(ROW_FIELDS)
    assert result["running"] is True
    assert result["editable"] is True
    rows = rows_by_key(result)
    assert rows["boiler"] | {"key": "boiler"} == {
        "key": "boiler",
        "area": "input_register",
        "address": 0,
        "plc": "30001",
        "data_type": "float32",
        "order": "ABCD",
        "bit": None,
        "length": None,
        "count": 2,
        "scale": 1.0,
        "offset": 0.0,
        "unit": "°C",
        "source": "sensor.boiler",
        "name": "",
        "description": "",
        "writable": False,
        "unavailable_value": None,
    }
    assert rows["offset"]["source"] is None
    assert rows["offset"]["plc"] == "40001"
    values = result["values"]
    assert values["boiler"] == [float32_cells(21.5), 21.5, None, False]
    assert values["outdoor"] == [[(-32) & 0xFFFF], -3.2, None, False]
    # an owned value nobody set yet: unavailable, its type's unavailable code is served
    assert values["offset"][1] is None
    assert values["level"] == [[7], 7.0, None, False]


async def test_a_row_that_cannot_be_read_shows_the_exception_clients_get(
    hass: HomeAssistant, command: Command
) -> None:
    hass.states.async_set("sensor.boiler", "unavailable")
    result = (await command("rows"))["result"]
    # float32 has an unavailable code (NaN), so the row still reads; the value is unknown
    assert result["values"]["boiler"][1] is None
    assert result["values"]["boiler"][0] == [0x7FC0, 0]


async def test_subscription_pushes_changed_values_in_one_batch(
    hass: HomeAssistant, ws: Ws, command: Command
) -> None:
    reply = await command("subscribe")
    assert reply["success"]
    subscription = reply["id"]
    hass.states.async_set("sensor.boiler", "22.0")
    hass.states.async_set("sensor.boiler", "23.0")
    hass.states.async_set("sensor.outdoor", "1.5")
    event = await asyncio.wait_for(ws.receive_json(), 5)
    assert event["id"] == subscription
    assert event["type"] == "event"
    assert event["event"] == {
        "values": {
            "boiler": [float32_cells(23.0), 23.0, None, False],
            "outdoor": [[15], 1.5, None, False],
            "mirror": [[2], 1.5, None, False],  # the same entity feeds both rows
        }
    }


async def test_subscription_pushes_owned_values_set_in_home_assistant(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, ws: Ws, command: Command
) -> None:
    assert (await command("subscribe"))["success"]
    loaded_entry.runtime_data.devices[DEVICE_ID].owned.set_from_entity("offset", 12)
    event = await asyncio.wait_for(ws.receive_json(), 5)
    assert event["event"] == {"values": {"offset": [[12], 12, None, False]}}


async def test_edit_stores_the_row_and_the_swapped_table_is_announced(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, ws: Ws, command: Command
) -> None:
    assert (await command("subscribe"))["success"]
    server = loaded_entry.runtime_data.server
    await ws.send_json_auto_id(
        {
            "type": "modbus_server/table/update_row",
            "entry_id": "01PLANT",
            "device_id": DEVICE_ID,
            "key": "outdoor",
            "changes": {"address": 10, "scale": 0.5, "unit": "K"},
        }
    )
    # The swap may be announced before or after the reply: the store saves eagerly.
    first, second = await ws.receive_json(), await ws.receive_json()
    reply, event = (first, second) if "success" in first else (second, first)
    assert reply["success"], reply
    assert event["event"] == {"table": True}
    row = dict(zip(ROW_FIELDS, reply["result"]["row"], strict=True))
    assert (row["address"], row["plc"], row["scale"], row["unit"]) == (10, "30011", 0.5, "K")
    await hass.async_block_till_done()
    stored = stored_rows(hass)["outdoor"]
    assert stored["address"] == 10
    assert stored["entity_id"] == "sensor.outdoor"  # the source stays
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data.server is server  # swapped, not reloaded
    rows = rows_by_key((await command("rows"))["result"])
    assert rows["outdoor"]["address"] == 10
    assert (await command("rows"))["result"]["values"]["outdoor"] == [
        [-6 & 0xFFFF],
        -3.2,
        None,
        False,
    ]


async def test_edit_keeps_settings_the_table_view_does_not_show(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, command: Command
) -> None:
    tables = loaded_entry.runtime_data.tables
    rows = [
        {**row, "write_mode": "always"} if row["id"] == "level" else row
        for row in tables.rows(DEVICE_ID)
    ]
    await tables.async_set_rows(DEVICE_ID, rows)
    await hass.async_block_till_done()
    assert (await command("update_row", key="level", changes={"unit": "%"}))["success"]
    await hass.async_block_till_done()
    assert stored_rows(hass)["level"]["write_mode"] == "always"
    assert stored_rows(hass)["level"]["unit"] == "%"


async def test_an_address_out_of_range_gets_the_flows_message_and_nothing_is_stored(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, command: Command
) -> None:
    before = stored_rows(hass)["outdoor"]
    reply = await command("update_row", key="outdoor", changes={"address": 70000})
    assert reply["success"]
    assert reply["result"] == {
        "errors": {
            "address": {
                "key": "invalid_address",
                "message": "must be a whole number from 0 to 65535",
            }
        }
    }
    assert stored_rows(hass)["outdoor"] == before


async def test_an_overlap_names_the_row_it_hits_and_the_next_free_address(
    command: Command,
) -> None:
    reply = await command("update_row", key="outdoor", changes={"address": 1})
    assert reply["result"]["errors"]["address"]["message"] == (
        "Overlaps the row IR 0 (30001) · sensor.boiler · float32. "
        "The next free address for this type is 2."
    )


async def test_advanced_fields_report_on_their_own_field(command: Command) -> None:
    reply = await command("update_row", key="level", changes={"data_type": "bit"})
    errors = reply["result"]["errors"]
    assert list(errors) == ["bit"]
    assert errors["bit"]["key"] == "invalid_bit"


async def test_an_owned_holding_register_cannot_become_text(command: Command) -> None:
    reply = await command("update_row", key="offset", changes={"data_type": "string", "length": 4})
    assert reply["result"]["errors"] == {
        "data_type": {
            "key": "owned_string",
            "message": "An owned holding register becomes a number entity: pick a number type.",
        }
    }


async def test_writable_is_refused_when_the_source_cannot_be_written(command: Command) -> None:
    reply = await command("update_row", key="mirror", changes={"writable": True})
    assert reply["result"]["errors"] == {
        "writable": {
            "key": "invalid_writable",
            "message": "Writes to sensor.outdoor cannot become a service call.",
        }
    }
    # an input register is never writable: the rules' own message
    reply = await command("update_row", key="boiler", changes={"writable": True})
    assert "read-only for Modbus clients" in reply["result"]["errors"]["writable"]["message"]


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"address": "forty"}, "address"),
        ({"data_type": "float99"}, "data_type"),
        ({"word_order": "middle"}, "word_order"),
        ({"writable": "maybe"}, "writable"),
        ({"area": "coil"}, "area"),
    ],
)
async def test_values_of_the_wrong_kind_are_refused_by_the_schema(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    command: Command,
    changes: dict[str, Any],
    where: str,
) -> None:
    before = stored_rows(hass)["outdoor"]
    reply = await command("update_row", key="outdoor", changes=changes)
    assert not reply["success"]
    assert reply["error"]["code"] == "invalid_format"
    assert where in reply["error"]["message"]
    assert stored_rows(hass)["outdoor"] == before


async def test_unknown_server_device_and_row_are_not_found(
    ws: Ws, loaded_entry: MockConfigEntry, command: Command
) -> None:
    for kind in ("rows", "subscribe", "activity", "export"):
        await ws.send_json_auto_id(
            {"type": f"modbus_server/table/{kind}", "entry_id": "nope", "device_id": "nope"}
        )
        reply = await ws.receive_json()
        assert reply["error"] == {"code": "not_found", "message": "No Modbus server nope"}, kind
    await ws.send_json_auto_id(
        {"type": "modbus_server/table/rows", "entry_id": "01PLANT", "device_id": "other"}
    )
    reply = await ws.receive_json()
    assert reply["error"] == {"code": "not_found", "message": "Plant has no device other"}
    reply = await command("update_row", key="missing", changes={"address": 3})
    assert reply["error"] == {"code": "not_found", "message": "Plant has no row missing"}


async def test_delete_rows_is_all_or_nothing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, command: Command
) -> None:
    reply = await command("delete_rows", keys=["outdoor", "missing"])
    assert reply["error"] == {
        "code": "not_found",
        "message": "Plant has no row missing; nothing was deleted",
    }
    assert {"outdoor", "boiler"} <= set(stored_rows(hass))
    reply = await command("delete_rows", keys=["outdoor", "boiler", "outdoor"])
    assert reply["result"] == {"deleted": 2}
    await hass.async_block_till_done()
    assert set(stored_rows(hass)) == {"offset", "level", "mirror"}
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert set(rows_by_key((await command("rows"))["result"])) == {"offset", "level", "mirror"}


async def test_delete_needs_at_least_one_key(command: Command) -> None:
    reply = await command("delete_rows", keys=[])
    assert reply["error"]["code"] == "invalid_format"


async def test_csv_download_is_the_integrations_export(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, command: Command
) -> None:
    reply = await command("export")
    assert reply["result"] == {
        "filename": "plant.csv",
        "csv": export_csv(loaded_entry.runtime_data.devices[DEVICE_ID].register_map.points),
    }
    assert reply["result"]["csv"].startswith("name,area,address,plc_address,data_type")
    assert len(stored_rows(hass)) == 5


async def test_export_then_import_keeps_stale_after_and_write_mode(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, command: Command
) -> None:
    """The CSV download imported again through the import flow: the row settings survive."""
    tables = loaded_table_store(hass, loaded_entry.entry_id)
    assert tables is not None
    rows = stored_rows(hass)
    rows["outdoor"][CONF_STALE_AFTER] = 30.0
    rows["boiler"][CONF_STALE_AFTER] = 0.0  # never stale: not the same as unset
    rows["level"][CONF_WRITE_MODE] = WRITE_MODE_ALWAYS
    await tables.async_set_rows(DEVICE_ID, rows.values())
    await hass.async_block_till_done()
    text = (await command("export"))["result"]["csv"]
    assert text.partition("\n")[0].endswith(",key,stale_after,write_mode")

    await tables.async_set_rows(DEVICE_ID, [])
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, "import"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {"text": text})
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["reason"] == "points_added"
    imported = {
        (row["area"], row["address"]): (row.get(CONF_STALE_AFTER), row.get(CONF_WRITE_MODE))
        for row in stored_rows(hass).values()
    }
    assert imported == {
        ("input_register", 0): (0.0, None),
        ("input_register", 2): (30.0, None),
        ("holding_register", 0): (None, None),
        ("holding_register", 1): (None, WRITE_MODE_ALWAYS),
        ("holding_register", 10): (None, None),
    }


async def test_activity_reports_whole_row_reads_and_client_writes(
    hass: HomeAssistant, client: AsyncModbusTcpClient, command: Command
) -> None:
    result = (await command("activity"))["result"]
    assert (result["read"], result["write"]) == ({}, {})
    # half of the float32 is no read of that row; IR 2 is read whole
    assert not (await client.read_input_registers(1, count=2)).isError()
    assert not (await client.write_register(1, 42)).isError()
    await hass.async_block_till_done()
    result = (await command("activity"))["result"]
    assert set(result["read"]) == {"outdoor"}
    assert set(result["write"]) == {"level"}
    assert result["read"]["outdoor"] <= result["now"]
    assert not (await client.read_input_registers(0, count=3)).isError()
    result = (await command("activity"))["result"]
    assert set(result["read"]) == {"boiler", "outdoor"}


async def test_refused_reads_are_not_recorded(
    client: AsyncModbusTcpClient, command: Command
) -> None:
    assert (await client.read_input_registers(2, count=5)).isError()  # past the table
    assert (await command("activity"))["result"]["read"] == {}


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("servers", {}),
        ("rows", {"entry_id": "01PLANT", "device_id": DEVICE_ID}),
        ("subscribe", {"entry_id": "01PLANT", "device_id": DEVICE_ID}),
        ("activity", {"entry_id": "01PLANT", "device_id": DEVICE_ID}),
        ("export", {"entry_id": "01PLANT", "device_id": DEVICE_ID}),
        (
            "update_row",
            {"entry_id": "01PLANT", "device_id": DEVICE_ID, "key": "offset", "changes": {}},
        ),
        ("delete_rows", {"entry_id": "01PLANT", "device_id": DEVICE_ID, "keys": ["offset"]}),
    ],
)
async def test_a_user_who_is_not_an_admin_is_refused(  # noqa: PLR0917 - fixtures
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    kind: str,
    fields: dict[str, Any],
) -> None:
    ws = await hass_ws_client(hass, hass_read_only_access_token)
    await ws.send_json_auto_id({"type": f"modbus_server/table/{kind}", **fields})
    reply = await ws.receive_json()
    assert reply["error"]["code"] == "unauthorized"
    assert "offset" in stored_rows(hass)


async def test_a_stopped_server_shows_its_stored_rows_without_values(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, command: Command
) -> None:
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    result = (await command("rows"))["result"]
    assert result["running"] is False
    assert result["values"] == {}
    assert set(rows_by_key(result)) == {"boiler", "outdoor", "offset", "level", "mirror"}
    # editing still works on the stored table
    assert (await command("update_row", key="outdoor", changes={"address": 20}))["success"]
    await hass.async_block_till_done()
    assert stored_rows(hass)["outdoor"]["address"] == 20
