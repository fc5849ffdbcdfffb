"""Last read and last write per row: what the table view shows next to each row.

Reads are recorded where the server calls a device (`Activity.recording` wraps its `on_read`):
one `time.time()` and one dict store per request, keyed by the block (area, address, count)
a client asked for; a block read again keeps its place in the dict and gets the new time
(no pop and re-insert: 0.12 instead of 0.17 us per read, `benchmarks/bridge_bench.py`). The
dict is bounded (`MAX_BLOCKS`; past it the block recorded first goes): SCADA clients poll the
same few blocks over and over, so the bound only bites on clients that scan, and a block
that is still polled comes back with its next read. Which row a read covered is computed
only when the panel asks (`last_reads`), not on the read path.

Writes come from the `modbus_server_write` events the bridge fires for every applied point
(they carry entry_id, unit id, area, address and bit; the unit id names the device).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from ..const import EVENT_WRITE
from ..modbus.area import Area

if TYPE_CHECKING:
    from ..modbus import ReadCallback, Request
    from ..models import ModbusServerConfigEntry
    from ..registermap import Point
    from ..runtime import ServerRuntime

MAX_BLOCKS: Final = 2048
"""Distinct (area, address, count) blocks remembered per device."""

type Block = tuple[Area, int, int]
type WriteKey = tuple[str, int, int | None]

DATA_ACTIVITY: HassKey[dict[str, ServerActivity]] = HassKey("modbus_server_panel_activity")


@dataclass
class Activity:
    """When clients last read each block and last wrote each row of one server."""

    reads: dict[Block, float] = field(default_factory=dict)
    writes: dict[WriteKey, float] = field(default_factory=dict)

    def record_read(self, area: Area, address: int, count: int) -> None:
        """Remember a block read now (past the bound, the block recorded first goes)."""
        reads = self.reads
        reads[area, address, count] = time.time()
        if len(reads) > MAX_BLOCKS:
            del reads[next(iter(reads))]

    def last_reads(self, points: Iterable[Point]) -> dict[str, float]:
        """Per row key: the time of the latest read that covered all of its cells."""
        by_area: dict[Area, list[tuple[int, int, Point]]] = {}
        for point in points:
            by_area.setdefault(point.area, []).append((point.address, point.end_address, point))
        latest: dict[str, float] = {}
        for area, rows in by_area.items():
            rows.sort(key=lambda row: (row[0], row[1]))
            starts = [row[0] for row in rows]
            for (block_area, address, count), when in self.reads.items():
                if block_area is not area:
                    continue
                end = address + count - 1
                index = bisect_left(starts, address)
                while index < len(rows) and rows[index][0] <= end:
                    _, row_end, point = rows[index]
                    if row_end <= end and when > latest.get(point.key, 0.0):
                        latest[point.key] = when
                    index += 1
        return latest

    def last_writes(self, points: Iterable[Point]) -> dict[str, float]:
        """Per row key: the time a client last wrote it."""
        writes = self.writes
        result: dict[str, float] = {}
        for point in points:
            when = writes.get((str(point.area), point.address, point.bit))
            if when is not None:
                result[point.key] = when
        return result

    def recording(self, on_read: ReadCallback) -> ReadCallback:
        """`on_read` that also records what was read.

        Recorded after the read: a refused block (an exception answer) served no row.
        `record_read` inline (this runs on every request): the dict is never replaced.
        """
        reads = self.reads
        now = time.time

        def recorded(request: Request, area: Area, address: int, count: int) -> Any:
            result = on_read(request, area, address, count)
            reads[area, address, count] = now()
            if len(reads) > MAX_BLOCKS:
                del reads[next(iter(reads))]
            return result

        return recorded


@dataclass
class ServerActivity:
    """The activity of each device of one server.

    It outlives a reload of the entry and a swap of a device's table, so the table view
    keeps showing when rows were last read and written.
    """

    devices: dict[str, Activity] = field(default_factory=dict)

    def device(self, device_id: str) -> Activity:
        """One device's activity (created on first use)."""
        return self.devices.setdefault(device_id, Activity())

    @callback
    def async_follow_writes(
        self, hass: HomeAssistant, entry_id: str, runtime: ServerRuntime
    ) -> CALLBACK_TYPE:
        """Record the server's writes for the device that answered their unit id."""

        @callback
        def _ours(data: dict[str, Any]) -> bool:
            return bool(data.get("entry_id") == entry_id)

        @callback
        def _written(event: Event[dict[str, Any]]) -> None:
            data = event.data
            unit_id = data.get("unit_id")
            for device_id, device in runtime.devices.items():
                units = device.settings.unit_ids
                if units is None or unit_id in units:
                    key = (data["area"], data["address"], data.get("bit"))
                    self.device(device_id).writes[key] = event.time_fired_timestamp
                    return

        return hass.bus.async_listen(EVENT_WRITE, _written, event_filter=_ours)


def activity_of_server(hass: HomeAssistant, entry: ModbusServerConfigEntry) -> ServerActivity:
    """The activity of a server (kept in hass.data across reloads)."""
    return hass.data.setdefault(DATA_ACTIVITY, {}).setdefault(entry.entry_id, ServerActivity())


def activity_of(hass: HomeAssistant, entry_id: str, device_id: str) -> Activity:
    """The activity of one device (empty when nothing was recorded yet)."""
    server = hass.data.get(DATA_ACTIVITY, {}).get(entry_id)
    return Activity() if server is None else server.devices.get(device_id) or Activity()
