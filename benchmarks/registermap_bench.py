"""Register map benchmark: compile time and block read/write throughput.

Usage::

    .venv/bin/python benchmarks/registermap_bench.py [--seconds 0.5]

Prints how long validating + compiling maps of 1 000 / 5 000 / 20 000 points takes
(the issue's target: thousands of points well under 100 ms), and how many block reads and
writes per second the compiled map serves, with a trivial provider so the figure is the
map's own cost (codec + lookup), not Home Assistant's. The last table reads the same
block from maps of growing size: the time must not grow with the map.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.registermap import (
    DataType,
    Point,
    RegisterMap,
    UnmappedPolicy,
    WordOrder,
)

HR = Area.HOLDING_REGISTER
IR = Area.INPUT_REGISTER
CO = Area.COIL


def mixed_points(count: int) -> list[Point]:
    """A realistic mix: floats, scaled ints, CDAB uint32, bit words, strings, coils."""
    points: list[Point] = []
    next_address = {HR: 0, IR: 0, CO: 0}
    kinds = ["float32", "float32", "int16", "uint32", "bits", "string", "coil", "float32"]
    i = 0
    while len(points) < count:
        kind = kinds[i % len(kinds)]
        area = IR if i % 2 else HR
        i += 1
        name = f"p{len(points)}"
        if kind == "coil":
            address = next_address[CO]
            next_address[CO] += 1
            points.append(Point(area=CO, address=address, data_type=DataType.BOOL, name=name))
            continue
        address = next_address[area]
        if kind == "bits":
            for bit in range(4):
                points.append(
                    Point(area=area, address=address, data_type=DataType.BIT, bit=bit, name=name)
                )
            next_address[area] += 1
            continue
        kwargs: dict[str, object] = {}
        if kind == "int16":
            kwargs = {"scale": 0.1}
        elif kind == "uint32":
            kwargs = {"word_order": WordOrder.LITTLE}
        elif kind == "string":
            kwargs = {"length": 8}
        point = Point(
            area=area,
            address=address,
            data_type=DataType("string" if kind == "string" else kind),
            name=name,
            writable=area is HR,
            **kwargs,  # type: ignore[arg-type]
        )
        points.append(point)
        next_address[area] += point.register_count
    return points[:count]


def provider(point: Point) -> object:
    """Constant values per type: the cost measured is the map's, not the source's."""
    data_type = point.data_type
    if data_type is DataType.STRING:
        return "pump 1"
    if data_type.is_bit:
        return True
    if data_type is DataType.UINT32:
        return 123_456
    return 21.5


def rate(func: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Calls per CPU second and CPU microseconds per call, best of 3 runs of `seconds` / 3."""
    best = 0.0
    for _ in range(3):
        calls = 0
        start = time.process_time()
        deadline = start + seconds / 3
        while True:
            for _ in range(20):
                func()
            calls += 20
            now = time.process_time()
            if now >= deadline:
                break
        best = max(best, calls / (now - start))
    return best, 1e6 / best


def compile_ms(points: list[Point], repeat: int = 7) -> tuple[float, float]:
    """Best and median CPU milliseconds to validate + compile a map.

    CPU time (not wall time) so that other processes on a busy machine do not count.
    """
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        RegisterMap(points)
        samples.append((time.process_time() - start) * 1000)
    return min(samples), statistics.median(samples)


def main() -> None:
    """Run every scenario and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.6, help="time per throughput row")
    args = parser.parse_args()
    seconds: float = args.seconds

    print(f"Python {sys.version.split()[0]}\n")
    print("validate + compile, CPU ms over 7 runs")
    print(f"{'points':>8}  {'best':>8}  {'median':>8}  {'target':>8}")
    for count in (1_000, 5_000, 20_000):
        best, median = compile_ms(mixed_points(count))
        target = "< 100" if count <= 5_000 else ""
        print(f"{count:>8}  {best:>8.1f}  {median:>8.1f}  {target:>8}")

    floats = [
        Point(area=HR, address=2 * i, data_type=DataType.FLOAT32, name=f"f{i}", writable=True)
        for i in range(2_000)
    ]
    int16s = [
        Point(area=HR, address=i, data_type=DataType.INT16, scale=0.1, name=f"i{i}", writable=True)
        for i in range(2_000)
    ]
    coils = [
        Point(area=CO, address=i, data_type=DataType.BOOL, name=f"c{i}", writable=True)
        for i in range(4_000)
    ]
    mixed = RegisterMap(mixed_points(5_000), unmapped=UnmappedPolicy.ZERO)
    float_map, int_map, coil_map = RegisterMap(floats), RegisterMap(int16s), RegisterMap(coils)
    float_block = [0x41AC, 0x0000] * 61  # 61 x 21.5 in 122 registers
    int_block = [215] * 123

    rows: list[tuple[str, Callable[[], object]]] = [
        ("FC3 read 125 regs = 62.5 float32 points", lambda: float_map.read(HR, 100, 125, provider)),
        ("FC3 read 125 regs = 125 scaled int16", lambda: int_map.read(HR, 100, 125, provider)),
        ("FC3 read 125 regs, 5000-point mixed map", lambda: mixed.read(HR, 200, 125, provider)),
        ("FC1 read 2000 coils", lambda: coil_map.read(CO, 1000, 2000, provider)),
        ("FC16 write 122 regs = 61 float32", lambda: float_map.write(HR, 100, float_block)),
        ("FC16 write 123 regs = 123 scaled int16", lambda: int_map.write(HR, 100, int_block)),
        ("FC15 write 1968 coils", lambda: coil_map.write(CO, 0, [1] * 1968)),
        ("encode one float32 (cache refresh)", lambda: float_map.encode(floats[0], 21.5)),
    ]
    print(f"\nblock throughput (CPU time, best of 3 x {seconds / 3:.2f} s, trivial provider)")
    print(f"{'scenario':<42}  {'blocks/s':>10}  {'us/block':>9}")
    for label, func in rows:
        per_second, micros = rate(func, seconds)
        print(f"{label:<42}  {per_second:>10,.0f}  {micros:>9.1f}")

    print("\nread time vs map size (FC3 x125 over int16 points): must stay flat")
    print(f"{'points':>8}  {'us/block':>9}")
    for count in (200, 2_000, 20_000, 65_000):
        table = RegisterMap(
            Point(area=HR, address=i, data_type=DataType.INT16, name=f"i{i}") for i in range(count)
        )
        _, micros = rate(lambda table=table: table.read(HR, 0, 125, provider), seconds)  # type: ignore[misc]
        print(f"{count:>8}  {micros:>9.1f}")


if __name__ == "__main__":
    main()
