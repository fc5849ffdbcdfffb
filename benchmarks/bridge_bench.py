"""Bridge benchmark: the encoded view vs reading hass.states per request, and cyclic writes.

Usage::

    .venv/bin/python benchmarks/bridge_bench.py [--seconds 0.5]

In process (no socket, so the bridge's own cost is measured), on a bare ``HomeAssistant``:

* reads: 60 points over 125 holding registers (50 float32 sensors, 5 int64 counters, 5 uint16
  switches) read as one FC3 block of 125 registers, from the encoded view (``cache=True``, the
  default) and from ``hass.states`` on every request (``cache=False``); then what the view costs
  per state change of a mapped entity (against a change of an unmapped one);
* bits: 2000 switches mapped to coils 0-1999, read as FC1 x2000 and x250 blocks, the bridge's
  ``on_read`` alone and with the server's packing of the response (``encode_read_bits_response``);
* the read recorder of the table view (``Activity.recording``) around the FC3 x125 read;
* staleness: 500 uint16 points (one sensor each) read as FC3 blocks of 125 registers with
  staleness off and on (`stale_after=60`, nothing stale: the read path is the same slice), what
  a same-value report (`state_reported`) costs with it on, and one timer scan of the 500;
* writes: a PLC rewriting 10 unchanged float32 set-points every scan (one FC16 of 20
  registers) with the default write mode (``on_change``: nothing is called) and with
  ``always`` (10 service calls and 10 events per write; the service is a no-op).

The unit tests only check that both read paths return the same registers; speed lives here.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from homeassistant.core import HomeAssistant, ServiceCall

from custom_components.modbus_server.bridge import Bridge
from custom_components.modbus_server.modbus import Area
from custom_components.modbus_server.modbus.pdu import encode_read_bits_response
from custom_components.modbus_server.owned import OwnedStore
from custom_components.modbus_server.panel.activity import Activity
from custom_components.modbus_server.registermap import DataType, Point, RegisterMap

HR = Area.HOLDING_REGISTER
COIL = Area.COIL


def read_points(hass: HomeAssistant) -> list[Point]:
    """The 60 points of the read test, with their entity states set."""
    points: list[Point] = []
    address = 0

    def add(source: str, data_type: DataType, size: int) -> None:
        nonlocal address
        points.append(
            Point(area=HR, address=address, data_type=data_type, source=source, key=source)
        )
        address += size

    for index in range(50):
        hass.states.async_set(f"sensor.t{index}", str(20 + index / 10))
        add(f"sensor.t{index}", DataType.FLOAT32, 2)
    for index in range(5):
        hass.states.async_set(f"counter.c{index}", str(1000 * index))
        add(f"counter.c{index}", DataType.INT64, 4)
    for index in range(5):
        hass.states.async_set(f"switch.s{index}", "on" if index % 2 else "off")
        add(f"switch.s{index}", DataType.UINT16, 1)
    assert address == 125
    return points


def make_bridge(hass: HomeAssistant, points: list[Point], **options: object) -> Bridge:
    """A started bridge over `points`."""
    register_map = RegisterMap(points)
    bridge = Bridge(hass, register_map, OwnedStore(register_map), **options)  # type: ignore[arg-type]
    bridge.async_start()
    return bridge


def rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second over about `seconds`."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            call()
        count += 50
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


async def async_rate(call: Callable[[], Awaitable[object]], seconds: float) -> tuple[float, int]:
    """Awaited calls per second over about `seconds`, and how many calls that was."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(10):
            await call()
        count += 10
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start), count


def bits_bench(hass: HomeAssistant, seconds: float) -> None:
    """FC1 reads of 2000 coils, one switch each: the bridge alone and with the packing."""
    points = []
    for index in range(2000):
        entity_id = f"switch.b{index}"
        hass.states.async_set(entity_id, "on" if (index ^ index >> 3) & 1 else "off")
        points.append(
            Point(
                area=COIL, address=index, data_type=DataType.BOOL, source=entity_id, key=entity_id
            )
        )
    bridge = make_bridge(hass, points)
    assert list(bridge.on_read(None, COIL, 0, 2000)) == [(i ^ i >> 3) & 1 for i in range(2000)]
    print()
    print("FC1 over 2000 coils        reads/s   us/read")
    for count in (2000, 250):
        read = rate(lambda c=count: bridge.on_read(None, COIL, 0, c), seconds)  # type: ignore[misc]
        packed = rate(
            lambda c=count: encode_read_bits_response(1, bridge.on_read(None, COIL, 0, c)),  # type: ignore[misc]
            seconds,
        )
        print(f"x{count} on_read{'':<13} {read:>10,.0f}  {1e6 / read:8.2f}")
        print(f"x{count} on_read + packing{'':<3} {packed:>10,.0f}  {1e6 / packed:8.2f}")


def staleness_bench(hass: HomeAssistant, seconds: float) -> None:
    """Read path and report cost of 500 points with staleness off and on."""
    points = []
    for index in range(500):
        entity_id = f"sensor.u{index}"
        hass.states.async_set(entity_id, str(index))
        points.append(
            Point(
                area=HR, address=index, data_type=DataType.UINT16, source=entity_id, key=entity_id
            )
        )
    off = make_bridge(hass, points)
    on = make_bridge(hass, points, stale_after=60.0)
    blocks = itertools.cycle(range(0, 500, 125))
    reads = {
        name: rate(lambda b=bridge: b.on_read(None, HR, next(blocks), 125), seconds)  # type: ignore[misc]
        for name, bridge in (("staleness off", off), ("staleness on (60 s)", on))
    }
    assert on.on_read(None, HR, 0, 125) == off.on_read(None, HR, 0, 125)
    # A same-value write fires state_reported: only the bridge with staleness on listens.
    report = rate(lambda: hass.states.async_set("sensor.u7", "7"), seconds)
    unheard = rate(lambda: hass.states.async_set("sensor.other", "7"), seconds)
    scan = rate(lambda: on.staleness.scan(arm=True), seconds)
    print()
    print("FC3 x125 over 500 points   reads/s   us/read")
    for name, value in reads.items():
        print(f"{name:<24} {value:>10,.0f}  {1e6 / value:8.1f}")
    print(f"same-value report with staleness on: {1e6 / report - 1e6 / unheard:.1f} us")
    print(f"timer scan of 500 points: {1e6 / scan:.1f} us")


async def bench(seconds: float) -> None:
    """Run every measurement and print the tables."""
    hass = HomeAssistant(tempfile.mkdtemp())
    await hass.async_start()
    try:
        points = read_points(hass)
        cached = make_bridge(hass, points)
        direct = make_bridge(hass, points, cache=False)
        assert cached.on_read(None, HR, 0, 125) == direct.on_read(None, HR, 0, 125)
        cache_rate = rate(lambda: cached.on_read(None, HR, 0, 125), seconds)
        direct_rate = rate(lambda: direct.on_read(None, HR, 0, 125), seconds)
        values = iter(range(10**9))
        mapped = rate(lambda: hass.states.async_set("sensor.t7", str(next(values))), seconds)
        unmapped = rate(lambda: hass.states.async_set("sensor.other", str(next(values))), seconds)
        print("FC3 x125 over 60 points    reads/s   us/read")
        for name, value in (("encoded view", cache_rate), ("hass.states", direct_rate)):
            print(f"{name:<24} {value:>10,.0f}  {1e6 / value:8.1f}")
        print(f"view update per state change: {1e6 / mapped - 1e6 / unmapped:.1f} us")
        recorded = Activity().recording(cached.on_read)
        bare = rate(lambda: cached.on_read(None, HR, 0, 125), seconds)
        wrapped = rate(lambda: recorded(None, HR, 0, 125), seconds)  # type: ignore[arg-type]
        print(
            f"read recorder (table view) per read: {1e6 / wrapped - 1e6 / bare:.2f} us "
            f"({1e6 / bare:.2f} -> {1e6 / wrapped:.2f} us)"
        )

        bits_bench(hass, seconds)

        staleness_bench(hass, seconds)

        async def no_op(call: ServiceCall) -> None:
            return None

        hass.services.async_register("input_number", "set_value", no_op)
        setpoints: list[Point] = []
        for index in range(10):
            entity_id = f"input_number.sp{index}"
            hass.states.async_set(entity_id, "21.5", {"min": 0, "max": 50, "step": 0.5})
            setpoints.append(
                Point(
                    area=HR,
                    address=2 * index,
                    data_type=DataType.FLOAT32,
                    source=entity_id,
                    writable=True,
                    key=entity_id,
                )
            )
        registers = [0x41AC, 0x0000] * 10  # 21.5 ten times
        print()
        print("FC16 x20, 10 unchanged set-points   writes/s   us/write  calls/write")
        for mode in ("on_change", "always"):
            bridge = make_bridge(
                hass, setpoints, write_modes={point.key: mode for point in setpoints}
            )
            write_rate, writes = await async_rate(
                lambda b=bridge: b.on_write(None, HR, 0, registers),  # type: ignore[misc]
                seconds,
            )
            calls = bridge.counters["applied"] / writes
            us = 1e6 / write_rate
            print(f"write mode {mode:<24} {write_rate:>10,.0f}  {us:8.1f}  {calls:>10.0f}")
    finally:
        await hass.async_stop()


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per measurement")
    args = parser.parse_args()
    asyncio.run(bench(args.seconds))


if __name__ == "__main__":
    main()
