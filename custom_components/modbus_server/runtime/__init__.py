"""Runtime objects: one per device (its compiled table and bridge) and the server's set of them.

A table edit builds a new `DeviceRuntime` beside the running one and swaps it into the server
between two requests (`ServerRuntime.async_set_device`): clients stay connected and every
request is served entirely by the old table or entirely by the new one. Live changes compile
in the executor (`compile_table`) and are applied in the order they were made
(`ServerRuntime.async_apply`).
"""

from .device import CompiledTable, DeviceRuntime, DeviceSettings, compile_table
from .server import ServerRuntime

__all__ = ["CompiledTable", "DeviceRuntime", "DeviceSettings", "ServerRuntime", "compile_table"]
