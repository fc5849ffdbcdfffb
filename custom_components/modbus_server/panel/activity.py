"""Last read and last write per row: what the table view shows next to each row.

Reads are recorded where the server calls the device (`record_reads` wraps its `on_read`):
one `time.time()` and one dict update per request, keyed by the block (area, address,
count) a client asked for. The dict is bounded (`MAX_BLOCKS`, least recently read first
out): SCADA clients poll the same few blocks over and over, so the bound only bites on
clients that scan. Which row a read covered is computed only when the panel asks
(`last_reads`), not on the read path.

Writes come from the `modbus_server_write` events the bridge fires for every applied point
(they carry entry_id, area, address and bit).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from ..const import EVENT_WRITE
from ..modbus.area import Area

if TYPE_CHECKING:
    from ..modbus import Request
    from ..models import ModbusServerConfigEntry
    from ..registermap import Point

MAX_BLOCKS: Final = 2048
"""Distinct (area, address, count) blocks remembered per server."""

type OnRead = Callable[[Request | None, Area, int, int], Any]
type Block = tuple[Area, int, int]
type WriteKey = tuple[str, int, int | None]

DATA_ACTIVITY: HassKey[dict[str, Activity]] = HassKey("modbus_server_panel_activity")


@dataclass
class Activity:
    """When clients last read each block and last wrote each row of one server."""

    reads: dict[Block, float] = field(default_factory=dict)
    writes: dict[WriteKey, float] = field(default_factory=dict)

    def record_read(self, area: Area, address: int, count: int) -> None:
        """Remember a block read now (most recent last; the oldest goes past the bound)."""
        block = (area, address, count)
        reads = self.reads
        if reads.pop(block, None) is None and len(reads) >= MAX_BLOCKS:
            del reads[next(iter(reads))]
        reads[block] = time.time()

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


def record_reads(hass: HomeAssistant, entry: ModbusServerConfigEntry, on_read: OnRead) -> OnRead:
    """`on_read` that also records what was read; follows the server's writes too.

    The activity outlives a reload of the entry (an edit reloads it today), so the table
    keeps showing when rows were last read and written.
    """
    activity = hass.data.setdefault(DATA_ACTIVITY, {}).setdefault(entry.entry_id, Activity())
    writes = activity.writes

    @callback
    def _written(event: Event[dict[str, Any]]) -> None:
        data = event.data
        writes[(data["area"], data["address"], data.get("bit"))] = event.time_fired_timestamp

    @callback
    def _ours(data: dict[str, Any]) -> bool:
        return bool(data.get("entry_id") == entry.entry_id)

    entry.async_on_unload(hass.bus.async_listen(EVENT_WRITE, _written, event_filter=_ours))
    record = activity.record_read

    def recorded(request: Request | None, area: Area, address: int, count: int) -> Any:
        # After the read: a refused block (an exception answer) served no row.
        result = on_read(request, area, address, count)
        record(area, address, count)
        return result

    return recorded


def activity_of(hass: HomeAssistant, entry_id: str) -> Activity:
    """The activity of a server (empty when nothing was recorded yet)."""
    return hass.data.get(DATA_ACTIVITY, {}).get(entry_id) or Activity()
