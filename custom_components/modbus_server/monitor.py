"""Periodic snapshot of a running server for the diagnostic entities."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval

from .const import DOMAIN, MONITOR_INTERVAL
from .modbus.stats import ClientInfo, ServerStats

RATE_WINDOW = 60.0
"""Requests per minute are measured over this many seconds."""


class Sampled(Protocol):
    """What the monitor samples: a `Server`, or a `transports.Listener` of any transport."""

    @property
    def stats(self) -> ServerStats:
        """Counters of all clients, past and present."""
        ...

    @property
    def connections(self) -> list[ClientInfo]:
        """The clients now."""
        ...


@dataclass(slots=True)
class Snapshot:
    """What the diagnostic entities show."""

    connections: int = 0
    requests: int = 0
    requests_per_minute: float = 0.0
    exceptions: int = 0
    last_client: str | None = None


@dataclass
class ServerMonitor:
    """Samples the server's counters every few seconds and tells the entities."""

    hass: HomeAssistant
    server: Sampled
    entry_id: str
    snapshot: Snapshot = field(default_factory=Snapshot)
    _samples: deque[tuple[float, int]] = field(default_factory=deque)
    _last_seen: float = 0.0

    @property
    def signal(self) -> str:
        """Dispatcher signal sent after each sample."""
        return f"{DOMAIN}_{self.entry_id}_monitor"

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Sample now and every MONITOR_INTERVAL seconds; returns the cancel callback."""
        self.async_sample()
        return async_track_time_interval(
            self.hass,
            self._async_tick,
            timedelta(seconds=MONITOR_INTERVAL),
            cancel_on_shutdown=True,
        )

    @callback
    def _async_tick(self, _now: datetime) -> None:
        # A @callback runs on the event loop; a plain function would go to a worker thread.
        self.async_sample()

    @callback
    def async_sample(self, now: float | None = None) -> None:
        """Take a sample and notify the entities."""
        now = time.monotonic() if now is None else now
        stats = self.server.stats
        requests = stats.counters.requests
        samples = self._samples
        samples.append((now, requests))
        while len(samples) > 1 and now - samples[1][0] >= RATE_WINDOW:
            samples.popleft()
        oldest_time, oldest_requests = samples[0]
        elapsed = now - oldest_time
        rate = (requests - oldest_requests) * 60.0 / elapsed if elapsed > 0 else 0.0
        last_client = self.snapshot.last_client
        for client in self.server.connections:
            if client.last_request is not None and client.last_request >= self._last_seen:
                self._last_seen = client.last_request
                last_client = client.host
        self.snapshot = Snapshot(
            connections=stats.connections,
            requests=requests,
            requests_per_minute=round(rate, 1),
            exceptions=stats.counters.exceptions.total(),
            last_client=last_client,
        )
        async_dispatcher_send(self.hass, self.signal)
