"""A server's devices at runtime, swapped in and out without closing a connection."""

from __future__ import annotations

from homeassistant.core import callback

from ..modbus import Server
from .device import DeviceRuntime


class ServerRuntime:
    """Device id -> its running `DeviceRuntime`, mirrored into `Server.devices`.

    A swap is synchronous on the event loop, so no request sees half of it: the new runtime is
    started (its view filled from the current states) before the server's device list is
    replaced, and the old runtime is stopped after. A unit id clash (the flows refuse those
    first) leaves everything as it was and raises ValueError.
    """

    def __init__(self, server: Server) -> None:
        """Serve through `server`; its devices are replaced by the ones set here."""
        self.server = server
        self.devices: dict[str, DeviceRuntime] = {}

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
        old = self.devices.pop(device_id, None)
        self.server.devices = [r.device for r in self.devices.values()]
        if old is not None:
            old.async_stop()

    @callback
    def async_stop(self) -> None:
        """Stop every device's listeners (the entry unloads; the server is stopped apart)."""
        for runtime in self.devices.values():
            runtime.async_stop()
