"""Integration-owned points: the OwnedStore and the bridge serving and writing it."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.modbus_server.const import EVENT_WRITE
from custom_components.modbus_server.modbus import Area, ServerDeviceFailure
from custom_components.modbus_server.owned import OwnedStore
from custom_components.modbus_server.registermap import UNAVAILABLE, DataType, RegisterMap

from .bridge_helpers import bridge, point


def test_store_without_map() -> None:
    store = OwnedStore()
    assert store.keys == ()
    assert store.get("x") is UNAVAILABLE


def test_store_lists_owned_keys_of_the_map() -> None:
    register_map = RegisterMap(
        [point(None, Area.COIL, 0, key="k1"), point("switch.a", Area.COIL, 1, key="k2")]
    )
    assert OwnedStore(register_map).keys == ("k1",)


def test_listeners() -> None:
    store = OwnedStore()
    seen: list[object] = []
    changed: list[str] = []
    remove = store.async_add_listener("k", seen.append)
    remove_change = store.async_add_change_listener(changed.append)
    store.set_from_entity("k", 5)  # the entity itself: no callback to it
    assert store.get("k") == 5
    assert seen == []
    store.set_from_modbus("k", 7)
    assert seen == [7]
    assert changed == ["k", "k"]
    store.set_from_modbus("other", 1)
    assert seen == [7]
    store.set_from_entity("k", None)
    assert store.get("k") is UNAVAILABLE
    remove()
    remove()  # removing twice is harmless
    remove_change()
    remove_change()
    store.set_from_modbus("k", 9)
    assert seen == [7]
    assert changed == ["k", "k", "other", "k"]


async def test_bridge_serves_and_writes_owned_points(hass: HomeAssistant) -> None:
    coil = point(None, Area.COIL, 0, key="coil-key")
    holding = point(None, Area.HOLDING_REGISTER, 0, DataType.INT16, scale=0.1, key="hr-key")
    b = bridge(hass, coil, holding)
    written: list[object] = []
    b.owned.async_add_listener("hr-key", written.append)
    with pytest.raises(ServerDeviceFailure):  # bool without a value yet: unavailable (04)
        b.on_read(None, Area.COIL, 0, 1)
    assert b.on_read(None, Area.HOLDING_REGISTER, 0, 1) == [0x8000]

    b.owned.set_from_entity("coil-key", True)  # the switch restored its state
    assert list(b.on_read(None, Area.COIL, 0, 1)) == [1]
    await b.on_write(None, Area.COIL, 0, [0])
    assert b.owned.get("coil-key") is False
    assert list(b.on_read(None, Area.COIL, 0, 1)) == [0]

    await b.on_write(None, Area.HOLDING_REGISTER, 0, [215])
    assert written == [pytest.approx(21.5)]
    assert b.on_read(None, Area.HOLDING_REGISTER, 0, 1) == [215]


async def test_owned_write_event_names_the_owned_entity(hass: HomeAssistant) -> None:
    er.async_get(hass).async_get_or_create(
        "number", "modbus_server", "hr-key", suggested_object_id="plc_setpoint"
    )
    events: list[Any] = []
    hass.bus.async_listen(EVENT_WRITE, events.append)
    b = bridge(hass, point(None, Area.HOLDING_REGISTER, 3, DataType.UINT16, key="hr-key"))
    await b.on_write(None, Area.HOLDING_REGISTER, 3, [12])
    await hass.async_block_till_done()
    assert events[0].data["entity_id"] == "number.plc_setpoint"
    assert events[0].data["value"] == 12
    assert events[0].data["values"] == [12]
