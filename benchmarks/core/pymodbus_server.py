"""pymodbus async TCP server with the benchmark's deterministic data.

Run by benchmarks/run_core.py in its own process: prints ``PORT <n>`` once listening and
serves until SIGTERM/SIGINT. Register i holds ``i & 0xFFFF``; coil/discrete input i is
``(i ^ (i >> 3)) & 1``; every area has ``size`` entries starting at address 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


def build_device(size: int) -> SimDevice:
    regs = [i & 0xFFFF for i in range(size)]
    bits = [bool((i ^ (i >> 3)) & 1) for i in range(size)]
    return SimDevice(
        id=0,  # every unit id
        simdata=(
            [SimData(0, values=list(bits), datatype=DataType.BITS)],
            [SimData(0, values=list(bits), datatype=DataType.BITS)],
            [SimData(0, values=list(regs), datatype=DataType.REGISTERS)],
            [SimData(0, values=list(regs), datatype=DataType.REGISTERS)],
        ),
    )


async def main(size: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    server = ModbusTcpServer(build_device(size), address=("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve_forever())
    while server.transport is None:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    port = server.transport.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.shutdown()
    serving.cancel()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000))
