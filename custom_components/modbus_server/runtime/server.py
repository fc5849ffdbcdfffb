"""A server's devices at runtime, swapped in and out without closing a connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from homeassistant.core import callback

from ..modbus import Server
from .device import DeviceRuntime


class ServerRuntime:
    """Device id -> its running `DeviceRuntime`, mirrored into `Server.devices`.

    A swap is synchronous on the event loop, so no request sees half of it: the new runtime is
    started (its view filled from the current states) before the server's device list is
    replaced, and the old runtime is stopped after. A unit id clash (the flows refuse those
    first) leaves everything as it was and raises ValueError.

    Live changes go through `async_apply`, whose builds may wait (a compile in the executor):
    they are applied one at a time in the order they were asked for, and a change that a
    later one of the same device supersedes is dropped, so an earlier edit never overwrites
    a later one by finishing late.
    """

    def __init__(self, server: Server) -> None:
        """Serve through `server`; its devices are replaced by the ones set here."""
        self.server = server
        self.devices: dict[str, DeviceRuntime] = {}
        self._changes = asyncio.Lock()
        self._latest: dict[str, int] = {}
        """Device id -> number of its latest change asked for (a later one supersedes)."""
        self._stopped = False

    async def async_apply(
        self, device_id: str, build: Callable[[], Awaitable[DeviceRuntime]]
    ) -> DeviceRuntime | None:
        """Build the device's new runtime and swap it in, after the changes asked before.

        `build` reads the device's current settings and table when it runs (under the
        lock). None: superseded by a later change of the device (or its removal), or the
        server stopped meanwhile. Raises what `build` or `async_set_device` raise.
        """
        change = self._supersede(device_id)
        async with self._changes:
            if self._stopped or self._latest[device_id] != change:
                return None
            device = await build()
            if self._stopped or self._latest[device_id] != change:
                device.async_stop()
                return None
            self.async_set_device(device)
            return device

    def _supersede(self, device_id: str) -> int:
        """Number a new change of the device; every change asked for before is dropped."""
        change = self._latest[device_id] = self._latest.get(device_id, 0) + 1
        return change

    @callback
    def async_set_device(self, runtime: DeviceRuntime) -> None:
        """Add a device, or replace the running one with the same id."""
        device_id = runtime.settings.device_id
        devices = {**self.devices, device_id: runtime}
        runtime.async_start()
        try:
            self.server.devices = [r.device for r in devices.values()]
        except ValueError:
            runtime.async_stop()
            raise
        old = self.devices.get(device_id)
        self.devices = devices
        if old is not None and old is not runtime:
            old.async_stop()

    @callback
    def async_remove_device(self, device_id: str) -> None:
        """Stop serving a device (its unit ids answer as unknown from the next request on)."""
        self._supersede(device_id)  # a change still being built must not bring it back
        old = self.devices.pop(device_id, None)
        self.server.devices = [r.device for r in self.devices.values()]
        if old is not None:
            old.async_stop()

    @callback
    def async_stop(self) -> None:
        """Stop every device's listeners (the entry unloads; the server is stopped apart)."""
        self._stopped = True
        for runtime in self.devices.values():
            runtime.async_stop()
