"""The logbook names the Modbus client that wrote a value, on the entity it changed."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.modbus_server import logbook
from custom_components.modbus_server.const import DOMAIN, EVENT_WRITE
from custom_components.modbus_server.logbook import describe_write

from .conftest import async_set_up, point_data, point_subentry, tcp_client


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """As in conftest, but the recorder's database must be prepared before `hass`."""


WRITE = {
    "client": "10.0.0.5",
    "unit_id": 1,
    "area": "holding_register",
    "address": 100,
    "bit": None,
    "value": 21.5,
    "entity_id": "input_number.level",
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "written by Modbus client 10.0.0.5 (unit 1): HR 100 = 21.5"),
        ({"client": None, "unit_id": None}, "written by a Modbus client: HR 100 = 21.5"),
        ({"area": "coil", "value": True}, "written by Modbus client 10.0.0.5 (unit 1): CO 100 = 1"),
        ({"bit": 3, "value": False}, "written by Modbus client 10.0.0.5 (unit 1): HR 100.3 = 0"),
        # a float32 cannot hold 22.1 exactly: the decoded noise is not shown
        (
            {"value": 22.100000381469727},
            "written by Modbus client 10.0.0.5 (unit 1): HR 100 = 22.1",
        ),
        (
            {"value": "abc", "unit_id": 0},
            "written by Modbus client 10.0.0.5 (unit 0): HR 100 = abc",
        ),
        ({"area": "somewhere"}, "written by Modbus client 10.0.0.5 (unit 1): somewhere 100 = 21.5"),
        # the audit trail never shows a write that did not apply as written
        ({"result": "applied"}, "written by Modbus client 10.0.0.5 (unit 1): HR 100 = 21.5"),
        ({"result": "failed"}, "write by Modbus client 10.0.0.5 (unit 1) failed: HR 100 = 21.5"),
        (
            {"result": "timeout"},
            "write by Modbus client 10.0.0.5 (unit 1) timed out: HR 100 = 21.5",
        ),
    ],
)
def test_describe_write(changes: dict[str, Any], message: str) -> None:
    assert describe_write({**WRITE, **changes}) == message


async def test_describer_names_the_entity_or_falls_back(hass: HomeAssistant) -> None:
    described: dict[str, Any] = {}

    def describe_event(domain: str, event_type: str, describer: Any) -> None:
        described[event_type] = (domain, describer)

    logbook.async_describe_events(hass, describe_event)
    domain, describer = described[EVENT_WRITE]
    assert domain == DOMAIN

    hass.states.async_set("input_number.level", "21.5", {"friendly_name": "Level"})
    entry = describer(Event(EVENT_WRITE, WRITE))
    assert entry == {
        "name": "Level",
        "message": "written by Modbus client 10.0.0.5 (unit 1): HR 100 = 21.5",
        "entity_id": "input_number.level",
    }
    gone = describer(Event(EVENT_WRITE, {**WRITE, "entity_id": "number.gone"}))
    assert gone["name"] == "number.gone"
    unnamed = describer(Event(EVENT_WRITE, {**WRITE, "entity_id": None}))
    assert unnamed["name"] == "Modbus Server"
    assert unnamed["entity_id"] is None


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """HR 100 serves (and writes) input_number.level."""
    return [
        point_subentry(
            point_data(
                "holding_register",
                100,
                "float32",
                entity_id="input_number.level",
                writable=True,
            ),
            "level",
        )
    ]


async def test_logbook_shows_the_client_on_the_entity(
    recorder_mock: Any,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    port: int,
    entry: MockConfigEntry,
) -> None:
    """A real client writes HR 100; the entity's logbook says who, and the change points at it."""
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"level": {"name": "Level", "min": 0, "max": 50, "step": 0.5}}},
    )
    hass.config.components.add("frontend")  # logbook only registers a panel with it
    assert await async_setup_component(hass, "logbook", {})
    await async_set_up(hass, entry)

    async with tcp_client(port) as modbus:
        registers = modbus.convert_to_registers(21.5, modbus.DATATYPE.FLOAT32)
        assert not (await modbus.write_registers(100, registers, device_id=1)).isError()
    assert hass.states.get("input_number.level").state == "21.5"  # type: ignore[union-attr]
    await hass.async_block_till_done()
    await recorder_mock.async_block_till_done()
    await hass.async_block_till_done()

    ws = await hass_ws_client(hass)
    message = "written by Modbus client 127.0.0.1 (unit 1): HR 100 = 21.5"
    # On the entity: its change names the write (same context) and who made it.
    entries = await _logbook(ws, 1, entity_ids=["input_number.level"])
    change = next(e for e in entries if e.get("state") == "21.5")
    assert change["context_event_type"] == EVENT_WRITE
    assert change["context_domain"] == DOMAIN
    assert change["context_name"] == "Level"
    assert change["context_message"] == message
    # In the whole logbook: the write itself, described.
    written = [e for e in await _logbook(ws, 2) if e.get("domain") == DOMAIN]
    assert written == [
        {
            "name": "Level",
            "message": message,
            "entity_id": "input_number.level",
            "domain": DOMAIN,
            "when": written[0]["when"],
        }
    ]
    await hass.config_entries.async_unload(entry.entry_id)


async def _logbook(ws: Any, msg_id: int, **query: Any) -> list[dict[str, Any]]:
    await ws.send_json(
        {"id": msg_id, "type": "logbook/get_events", "start_time": "2000-01-01T00:00:00Z", **query}
    )
    response = await ws.receive_json()
    assert response["success"], response
    return list(response["result"])
