"""Live table edits: compile + swap of a device's table, and a polling client's latency meanwhile.

Usage::

    .venv/bin/python benchmarks/swap_bench.py [--rows 5000] [--swaps 20] [--seconds 3]
        [--on-loop] [--full]

In one process, on a bare ``HomeAssistant`` with a real ``Server`` on 127.0.0.1: a device of
``--rows`` rows (float32 and int16 input registers fed by sensors, uint16 holding registers,
coils, read-only as the store keeps them) gets ``--swaps`` edits, each changing one row's
scale, applied as a live edit does it
(``compile_table`` in the executor against the running table: parse, compile and validate
the changed row, check the whole table; then ``DeviceRuntime`` on the loop: build the bridge)
and swapped in (``ServerRuntime.async_set_device``: fill the bridge's encoded view from the
states, replace the server's devices); each step is timed. ``--full`` compiles every row
from scratch (what the first build at setup costs), ``--on-loop`` compiles on the event loop
(how edits were applied before). Meanwhile a client on its own connection polls FC3 x125
closed loop: its latency is printed for the seconds without swaps and for those with a swap
every 100 ms.
Every response is checked against the table (the rows read the same in both tables).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from homeassistant.core import HomeAssistant

from custom_components.modbus_server.modbus import Server
from custom_components.modbus_server.registermap import UnmappedPolicy
from custom_components.modbus_server.runtime import (
    CompiledTable,
    DeviceRuntime,
    DeviceSettings,
    ServerRuntime,
    compile_table,
)
from custom_components.modbus_server.table_store import ROW_ID

_MBAP = struct.Struct(">HHHB")


def rows(count: int, hass: HomeAssistant) -> list[dict[str, Any]]:
    """`count` rows, a quarter each of four kinds; their source states set."""
    table: list[dict[str, Any]] = []
    address = {"input_register": 0, "holding_register": 0, "coil": 0}
    kinds = (
        ("input_register", "float32", 2, "sensor"),
        ("input_register", "int16", 1, "sensor"),
        ("holding_register", "uint16", 1, "input_number"),
        ("coil", "bool", 1, "input_boolean"),
    )
    for index in range(count):
        area, data_type, size, domain = kinds[index % 4]
        entity_id = f"{domain}.e{index}"
        hass.states.async_set(entity_id, "on" if domain == "input_boolean" else str(index % 100))
        table.append(
            {
                ROW_ID: f"r{index}",
                "area": area,
                "address": address[area],
                "data_type": data_type,
                "entity_id": entity_id,
                "writable": False,
            }
        )
        address[area] += size
    return table


async def poll(port: int, stop: asyncio.Event, latencies: list[tuple[float, float]]) -> None:
    """FC3 x125 at HR 0 closed loop; (time, latency) of every answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = _MBAP.pack(1, 0, 6, 1) + struct.pack(">BHH", 3, 0, 125)
    expected: bytes | None = None
    while not stop.is_set():
        start = time.perf_counter()
        writer.write(request)
        header = await reader.readexactly(7)
        body = await reader.readexactly(_MBAP.unpack(header)[2] - 1)
        latencies.append((start, time.perf_counter() - start))
        if expected is None:
            expected = body
        assert body == expected, "a response differs between the tables"
    writer.close()


def timed_compile(
    table: list[Mapping[str, Any]], unmapped: UnmappedPolicy, previous: CompiledTable | None
) -> tuple[CompiledTable, float]:
    """`compile_table` and the CPU time (ms) of the thread running it, which the wall time of
    a compile in the executor exceeds by the time it waited for the interpreter lock."""
    start = time.thread_time()
    compiled = compile_table(table, unmapped, previous)
    return compiled, (time.thread_time() - start) * 1e3


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


async def bench(count: int, swaps: int, seconds: float, *, on_loop: bool, full: bool) -> None:
    """Build, swap, poll; print the tables."""
    hass = HomeAssistant(tempfile.mkdtemp())
    await hass.async_start()
    try:
        table: list[Mapping[str, Any]] = [MappingProxyType(row) for row in rows(count, hass)]
        settings = DeviceSettings.from_data("d", {"name": "d", "unit_ids": [1]}, revision="1")
        server = Server(host="127.0.0.1", port=0)
        runtime = ServerRuntime(server)
        runtime.async_set_device(DeviceRuntime(hass, settings, table))
        await server.start()
        stop = asyncio.Event()
        latencies: list[tuple[float, float]] = []
        poller = asyncio.create_task(poll(server.port, stop, latencies))
        await asyncio.sleep(seconds)  # quiet phase
        quiet_end = time.perf_counter()
        compiles: list[float] = []
        compile_cpu: list[float] = []
        builds: list[float] = []
        swaps_ms: list[float] = []
        windows: list[tuple[float, float]] = []
        for edit in range(swaps):
            # One row changed, as the row flow or the table view changes it (the poller
            # reads holding registers, the edited row is an input register).
            table = [*table]
            table[0] = MappingProxyType({**table[0], "scale": 2.0 if edit % 2 == 0 else 1.0})
            previous = None if full else runtime.devices["d"].table  # the running one
            start = time.perf_counter()
            if on_loop:
                compiled, cpu = timed_compile(table, settings.unmapped, previous)
            else:
                compiled, cpu = await hass.async_add_executor_job(
                    timed_compile, table, settings.unmapped, previous
                )
            compile_cpu.append(cpu)
            compiled_at = time.perf_counter()
            device = DeviceRuntime(hass, settings, compiled, previous=runtime.devices["d"])
            built = time.perf_counter()
            runtime.async_set_device(device)
            compiles.append((compiled_at - start) * 1e3)
            builds.append((built - compiled_at) * 1e3)
            swaps_ms.append((time.perf_counter() - built) * 1e3)
            windows.append((start, time.perf_counter()))
            await asyncio.sleep(0.1)
        stop.set()
        await poller
        runtime.async_stop()
        await server.stop()
    finally:
        await hass.async_stop()
    quiet = [lat * 1e6 for t, lat in latencies if t < quiet_end]
    busy = [lat * 1e6 for t, lat in latencies if t >= quiet_end]
    where = "on the loop" if on_loop else "in the executor"
    how = "every row" if full else "against the running table"
    print(f"device of {count} rows, {swaps} edits of one row, compiled {where}, {how}")
    print("step                              median ms     max ms")
    total = [sum(steps) for steps in zip(compiles, builds, swaps_ms, strict=True)]
    on_the_loop = total if on_loop else [b + w for b, w in zip(builds, swaps_ms, strict=True)]
    for step, values in (
        (f"compile ({where})", compiles),
        ("  of it CPU of the compiling thread", compile_cpu),
        ("bridge (loop)", builds),
        ("view from the states + swap", swaps_ms),
        ("the whole edit", total),
        ("of it on the event loop", on_the_loop),
    ):
        print(f"{step:<32} {statistics.median(values):9.1f}  {max(values):9.1f}")
    # The slowest request of each edit (in flight while it was compiled and swapped), over
    # the edits: the max alone is one outlier on a shared machine (a GC pause, another process).
    slowest = [
        max((lat * 1e3 for t, lat in latencies if t <= end and t + lat >= begin), default=0.0)
        for begin, end in windows
    ]
    print(
        f"poller's slowest request per edit: median {statistics.median(slowest):.1f} ms, "
        f"max {max(slowest):.1f} ms"
    )
    print("FC3 x125 poller                  requests   p50 us   p99 us   max us")
    for name, values in (("no edits", quiet), ("an edit every 100 ms", busy)):
        print(
            f"{name:<30} {len(values):>8}  {statistics.median(values):7.0f}  "
            f"{p99(values):7.0f}  {max(values):7.0f}"
        )


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--swaps", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0, help="quiet polling first")
    parser.add_argument("--on-loop", action="store_true", help="compile on the event loop")
    parser.add_argument("--full", action="store_true", help="compile every row from scratch")
    args = parser.parse_args()
    asyncio.run(bench(args.rows, args.swaps, args.seconds, on_loop=args.on_loop, full=args.full))


if __name__ == "__main__":
    main()
