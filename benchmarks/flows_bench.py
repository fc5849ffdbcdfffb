"""Time the address-table flows with large tables, in a phcc `hass` (printed, not asserted).

Usage::

    .venv/bin/pytest -q -p no:cacheprovider benchmarks/flows_bench.py -s

For 8 000 and 20 000 rows: the import flow with a CSV and a JSON export (parse, validate,
preview, then adding every row; an indented JSON export of 20 000 rows is over the import
limit), and "Add many" with as many sensors (plan and preview, then
adding). The server entry is not set up, so what is measured is the flows' own work and the
save of the device's table (one store file), not a table swap.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.modbus_server.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.modbus_server.device_rules import device_data
from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.registermap import DataType, Point, export_csv, export_json
from custom_components.modbus_server.registermap.io import MAX_IMPORT_CHARS

SERVER = {
    "name": "Bench",
    "bind_address": "127.0.0.1",
    "port": 1,
    "max_connections": 8,
    "idle_timeout": 0,
    "unknown_unit": "exception",
    "allowed_clients": [],
    "read_only": False,
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load the integration from custom_components/."""


def _points(count: int) -> list[Point]:
    return [
        Point(
            area=Area.INPUT_REGISTER,
            address=index * 2,
            data_type=DataType.FLOAT32,
            source=f"sensor.s{index}",
        )
        for index in range(count)
    ]


async def _run(hass: HomeAssistant, kind: str, user_input: dict[str, Any]) -> tuple[float, float]:
    device = ConfigSubentryData(
        data=device_data(name="Bench", unit_ids=None),
        subentry_type=SUBENTRY_DEVICE,
        title="Bench",
        unique_id=None,
    )
    entry = MockConfigEntry(
        domain=DOMAIN, title="Bench", data=SERVER, version=2, subentries_data=[device]
    )
    entry.add_to_hass(hass)
    flows = hass.config_entries.subentries
    result = await flows.async_init((entry.entry_id, kind), context={"source": "user"})
    start = time.perf_counter()
    result = await flows.async_configure(result["flow_id"], user_input)
    preview = time.perf_counter() - start
    assert result["step_id"] == "confirm", result.get("description_placeholders")
    start = time.perf_counter()
    result = await flows.async_configure(result["flow_id"], {})
    added = time.perf_counter() - start
    assert result["reason"] == "points_added"
    await hass.config_entries.async_remove(entry.entry_id)
    return preview, added


@pytest.mark.parametrize("rows", [8000, 20000])
async def test_flow_timings(hass: HomeAssistant, rows: int) -> None:
    points = _points(rows)
    for index in range(rows):
        hass.states.async_set(f"sensor.s{index}", "1")
    lines = [f"{rows} rows:"]
    for name, text in (("CSV", export_csv(points)), ("JSON", export_json(points))):
        if len(text) > MAX_IMPORT_CHARS:
            lines.append(f"  import {name} ({len(text) / 1e6:.1f} MB): over the import limit")
            continue
        preview, added = await _run(hass, "import", {"text": text})
        lines.append(
            f"  import {name} ({len(text) / 1e6:.1f} MB): preview {preview:.2f} s, "
            f"add {added:.2f} s"
        )
    entities = [f"sensor.s{index}" for index in range(rows)]
    preview, added = await _run(hass, "bulk", {"entity_id": entities, "writable": False})
    lines.append(f"  add many: preview {preview:.2f} s, add {added:.2f} s")
    print("\n".join(lines))
