"""Live values for an open table view: row changes pushed in batches, at most 4 per second.

A state change of a mapped entity (or an owned value) marks the rows it feeds; the marked
rows' values are read from the bridge and sent together once the interval since the last
batch has passed, so a burst of changes costs one message. A reload of the server sends
`{"table": true}`: the panel fetches the rows again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from . import source

if TYPE_CHECKING:
    import asyncio

    from ..models import ModbusServerConfigEntry
    from ..registermap import Point

INTERVAL: Final = 0.25
"""Seconds between two batches of values (at most 4 per second)."""


class LiveRows:
    """Follows one device's rows and sends their new values through `send`."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ModbusServerConfigEntry,
        device_id: str,
        send: Callable[[dict[str, Any]], None],
        encode: Callable[[source.RowValue], list[Any]],
    ) -> None:
        """Nothing followed until `async_start`."""
        self._hass = hass
        self._entry = entry
        self._device_id = device_id
        self._send = send
        self._encode = encode
        self._points: dict[str, Point] = {}
        self._pending: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._last_sent = 0.0

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Start following; returns the stopper."""
        self._index()
        stop_follow = source.async_follow(
            self._hass, self._entry, self._device_id, self._changed, self._table_changed
        )

        @callback
        def stop() -> None:
            stop_follow()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        return stop

    def _index(self) -> None:
        self._points = {
            point.key: point for point in source.device_rows(self._entry, self._device_id)
        }

    @callback
    def _changed(self, keys: set[str]) -> None:
        self._pending |= keys
        if self._timer is None and self._pending:
            delay = max(0.0, self._last_sent + INTERVAL - time.monotonic())
            self._timer = self._hass.loop.call_later(delay, self._flush)

    @callback
    def _flush(self) -> None:
        self._timer = None
        points = [self._points[key] for key in self._pending if key in self._points]
        self._pending = set()
        if not points:
            return
        self._last_sent = time.monotonic()
        values = source.row_values(self._entry, points)
        self._send({"values": {key: self._encode(value) for key, value in values.items()}})

    @callback
    def _table_changed(self) -> None:
        self._pending = set()
        self._index()
        self._send({"table": True})
