"""CPU per request of the server's protocol path, without sockets.

Usage::

    .venv/bin/python benchmarks/protocol_bench.py [--requests 200000] [--repeat 5]
        [--only "FC1 x2000"] [--bit-lists]

Feeds ready-made segments to `data_received` of a server connection whose transport is a stub
that only counts what is written, and divides the process CPU time by the requests answered.
This is everything `modbus/` does per request (framing, dispatch to the device, the callback of
`benchmarks/core/ours_server.py`, encoding, counters, one `write()`), with the kernel's part
(wakeup, `recv()`, `send()`) left out: the steady figure behind the socket benchmarks of
`run_core.py`, whose closed-loop cells move with the machine's other work. Best of `--repeat`.
`--bit-lists` keeps the bit areas as lists of bools instead of `ours_server.py`'s bytearray of
one byte per bit, to see what that layout saves on FC1.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "core"))

from ours_server import build_tables  # noqa: E402  (imports only the modbus package)

from custom_components.modbus_server.modbus import Area, Request, Server  # noqa: E402
from custom_components.modbus_server.modbus.server import _Connection  # noqa: E402

ADDRESS = 1000
CASES = [(3, 10), (3, 125), (1, 2000)]
FRAMES_PER_SEGMENT = (1, 16)


class StubTransport(asyncio.Transport):
    """Takes writes and counts their bytes; nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 50000) if name == "peername" else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += len(data)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def is_closing(self) -> bool:
        return False


def make_server(use_async: bool, bit_lists: bool = False) -> Server:
    tables: dict[Area, Any] = build_tables(10000)
    if bit_lists:
        for area in (Area.COIL, Area.DISCRETE_INPUT):
            tables[area] = [bool(bit) for bit in tables[area]]

    def on_read(request: Request, area: Area, address: int, count: int) -> Any:
        return tables[area][address : address + count]

    async def on_read_async(request: Request, area: Area, address: int, count: int) -> Any:
        return tables[area][address : address + count]

    return Server(host="127.0.0.1", port=0, on_read=on_read_async if use_async else on_read)


def segment(fc: int, qty: int, frames: int) -> bytes:
    return b"".join(
        struct.pack(">HHHBBHH", tid, 0, 6, 1, fc, ADDRESS, qty) for tid in range(frames)
    )


def run_case(
    use_async: bool, fc: int, qty: int, frames: int, requests: int, *, bit_lists: bool = False
) -> float:
    """CPU µs per request of one case."""

    async def body() -> float:
        connection = _Connection(make_server(use_async, bit_lists))
        transport = StubTransport()
        connection.connection_made(transport)
        data = segment(fc, qty, frames)
        rounds = max(1, requests // frames)
        feed = connection.data_received
        for _ in range(min(rounds, 1000)):  # warm up
            feed(data)
        t0 = time.process_time()
        for _ in range(rounds):
            feed(data)
        spent = time.process_time() - t0
        assert transport.written, "nothing answered"
        return spent / (rounds * frames) * 1e6

    return asyncio.run(body())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=200_000, help="requests per run")
    ap.add_argument("--repeat", type=int, default=5, help="runs per cell; fastest kept")
    ap.add_argument("--only", help='cases whose name starts so, e.g. "FC1 x2000"')
    ap.add_argument("--bit-lists", action="store_true", help="bit areas as lists of bools")
    args = ap.parse_args()
    print(f"{'case':<28} {'sync µs':>8} {'async µs':>9} {'async/sync':>10}")
    for fc, qty in CASES:
        if args.only and not f"FC{fc} x{qty}".startswith(args.only):
            continue
        for frames in FRAMES_PER_SEGMENT:
            best = [
                min(
                    run_case(a, fc, qty, frames, args.requests, bit_lists=args.bit_lists)
                    for _ in range(args.repeat)
                )
                for a in (False, True)
            ]
            name = f"FC{fc} x{qty}, {frames} frame{'s' if frames > 1 else ''}/segment"
            print(f"{name:<28} {best[0]:>8.2f} {best[1]:>9.2f} {best[1] / best[0]:>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
