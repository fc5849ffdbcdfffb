"""This project's Modbus TCP server with in-memory callbacks, for the benchmark.

Run by benchmarks/run_core.py in its own process (default asyncio loop, as Home Assistant
on Linux): prints ``PORT <n>`` once listening and serves until SIGTERM/SIGINT. Each area
holds ``size`` values: register i holds ``i & 0xFFFF`` (a list), coil/discrete input i is
``(i ^ (i >> 3)) & 1`` (a bytearray of one byte per bit, as libmodbus's ``tab_bits``, which
the core packs without converting). ``on_read`` returns a slice, ``on_write`` stores.

``--async``: the same callbacks as ``async def`` that return without suspending (as a Home
Assistant callback serving from a cache does), to measure what an async callback costs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import types
from pathlib import Path

# Import only the protocol package: it has no Home Assistant imports, and the integration's
# own __init__ (HA glue) is neither needed nor wanted in this process. Empty parent packages
# keep the real module names (and so the logger names).
_ROOT = Path(__file__).resolve().parents[2]
for _name in ("custom_components", "custom_components.modbus_server"):
    _pkg = types.ModuleType(_name)
    _pkg.__path__ = [str(_ROOT.joinpath(*_name.split(".")))]
    sys.modules.setdefault(_name, _pkg)

from custom_components.modbus_server.modbus import Area, Request, Server  # noqa: E402

type Table = list[int] | bytearray


def build_tables(size: int) -> dict[Area, Table]:
    """Registers as lists; bits as a bytearray of one byte per bit, like libmodbus's tab_bits."""
    regs = [i & 0xFFFF for i in range(size)]
    bits = bytearray((i ^ (i >> 3)) & 1 for i in range(size))
    return {
        Area.COIL: bytearray(bits),
        Area.DISCRETE_INPUT: bytearray(bits),
        Area.HOLDING_REGISTER: list(regs),
        Area.INPUT_REGISTER: list(regs),
    }


async def main(size: int, use_async: bool) -> None:
    logging.basicConfig(level=logging.WARNING)
    tables = build_tables(size)

    def on_read(request: Request, area: Area, address: int, count: int) -> Table:
        return tables[area][address : address + count]

    def on_write(
        request: Request, area: Area, address: int, values: list[int] | list[bool]
    ) -> None:
        tables[area][address : address + len(values)] = values  # bools store as 0/1 bytes

    async def on_read_async(request: Request, area: Area, address: int, count: int) -> Table:
        return tables[area][address : address + count]

    async def on_write_async(
        request: Request, area: Area, address: int, values: list[int] | list[bool]
    ) -> None:
        tables[area][address : address + len(values)] = values

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = Server(
        host="127.0.0.1",
        port=0,
        on_read=on_read_async if use_async else on_read,
        on_write=on_write_async if use_async else on_write,
    )
    async with server:
        print(f"PORT {server.port}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    args = [arg for arg in sys.argv[1:] if arg != "--async"]
    asyncio.run(main(int(args[0]) if args else 10000, "--async" in sys.argv[1:]))
