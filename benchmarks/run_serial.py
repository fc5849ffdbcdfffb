"""Benchmark of the RTU slave on a serial line, and of RTU over TCP and UDP against TCP.

Usage::

    .venv/bin/python benchmarks/run_serial.py [--duration 3] [--repeat 5] [--nice -15]
                                              [--baud 115200] [--markdown]

Every server is ``scripts/serve`` (the protocol core only, its simulator map) in its own
process; the master is this process, closed loop (one request in flight), FC3 x10 and x125 at
address 1000, every response compared byte for byte with the expected one.

**Serial**: the server opens the slave end of a pty (8E1 at ``--baud``); this process holds
the master end. A pty moves bytes at once, with no baud rate, so the master plays the line:
it writes a request only once the request's bytes would have crossed the line (its length x
11 bits / baud after it began), counts the response as arrived once the response's bytes
would have, and waits the 3.5-character silence before the next request, as a master must.
The line's theoretical maximum is then computed from the frame sizes alone::

    1 / (request bytes x 11 / baud + t3.5 + response bytes x 11 / baud + t3.5)

and the server's share of the cycle is its answer delay (request end to answer start; at
least t3.5 by the spec), measured here as the time from writing a request to the first byte
of its answer. "with our p50 delay" is the line's maximum with that median delay in place of
the first t3.5: what the server allows, apart from the emulating master's own scheduling
jitter on a busy machine. "CPU per request" is the server process's user + system time over
the run.

**TCP family**: ``--transport tcp``, ``rtu-over-tcp`` (listening) and ``udp``, one
synchronous Python client each (the same code for all three, so the ratios compare the
transports, not the clients).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVE = ROOT / "scripts" / "serve.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ADDRESS = 1000
BITS_PER_CHARACTER = 11
sys.path.insert(0, str(ROOT / "scripts"))
import serve  # noqa: E402, F401  (its stub parent packages: import only the core)

from custom_components.modbus_server.modbus.framing import mbap, rtu  # noqa: E402
from custom_components.modbus_server.modbus.pdu import (  # noqa: E402
    encode_read_registers_response,
    encode_read_request,
)
from custom_components.modbus_server.modbus.transport.serial import silence_time  # noqa: E402


@dataclass
class Result:
    scenario: str
    requests: int
    seconds: float
    cpu_seconds: float
    delays: list[float]  # per request: request written -> first byte of the answer
    theoretical: float | None = None  # req/s the line allows (serial only)
    wire_and_silence: float = 0.0  # serial: both frames' line time + the master's t3.5

    @property
    def server_bound(self) -> float:
        """req/s the line would allow with the server's median answer delay in place of t3.5."""
        return 1 / (self.wire_and_silence + self.percentile(0.5))

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.delays)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextlib.contextmanager
def simulator(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, str(SERVE), *args], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        if not ready.startswith("ready:"):
            raise SystemExit(f"scripts/serve did not start: {ready!r}")
        yield process, ready
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def sleep_until(deadline: float) -> None:
    remaining = deadline - time.perf_counter()
    if remaining > 0:
        time.sleep(remaining)


def read_exactly(fd: int, count: int, timeout: float = 1.0) -> tuple[bytes, float]:
    """`count` bytes from fd, and when the first of them came."""
    data = b""
    first = 0.0
    end = time.perf_counter() + timeout
    while len(data) < count:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.perf_counter()))
        if not ready:
            raise SystemExit(f"no answer within {timeout} s (got {data.hex(' ')})")
        chunk = os.read(fd, count - len(data))
        if not data:
            first = time.perf_counter()
        data += chunk
    return data, first


def bench_serial(count: int, baud: int, duration: float) -> Result:
    master, slave = os.openpty()
    tty.setraw(master)
    path = os.ttyname(slave)
    request = rtu.encode_frame(1, encode_read_request(3, ADDRESS, count))
    expected = rtu.encode_frame(
        1, encode_read_registers_response(3, list(range(ADDRESS, ADDRESS + count)))
    )
    char = BITS_PER_CHARACTER / baud
    t35 = silence_time(baud)
    request_time, response_time = len(request) * char, len(expected) * char
    theoretical = 1 / (request_time + t35 + response_time + t35)
    args = ("--transport", "rtu", "--serial", path, "--baud", str(baud), "--parity", "E")
    with simulator(*args) as (process, _):
        os.close(slave)
        termios.tcflush(master, termios.TCIOFLUSH)
        delays: list[float] = []
        cpu0 = cpu_seconds(process.pid)
        start = time.perf_counter()
        next_start = start
        while next_start - start < duration:
            sleep_until(next_start + request_time)  # the request's bytes cross the line
            os.write(master, request)
            sent = time.perf_counter()
            answer, first = read_exactly(master, len(expected))
            if answer != expected:
                raise SystemExit(f"wrong answer {answer.hex(' ')}")
            delays.append(first - sent)
            # The answer's bytes cross the line, then the silence before the next request.
            next_start = first + response_time + t35
        sleep_until(next_start)
        seconds = time.perf_counter() - start
        cpu = cpu_seconds(process.pid) - cpu0
    os.close(master)
    return Result(
        f"rtu {baud} FC3 x{count}",
        len(delays),
        seconds,
        cpu,
        delays,
        theoretical=theoretical,
        wire_and_silence=request_time + response_time + t35,
    )


def closed_loop(
    send: Callable[[int], None], receive: Callable[[int], bytes], duration: float
) -> tuple[int, float, list[float]]:
    delays: list[float] = []
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < duration:
        n += 1
        sent = time.perf_counter()
        send(n & 0xFFFF)
        receive(n & 0xFFFF)
        delays.append(time.perf_counter() - sent)
    return n, time.perf_counter() - start, delays


def bench_network(transport: str, count: int, duration: float) -> Result:
    pdu = encode_read_request(3, ADDRESS, count)
    answer_pdu = encode_read_registers_response(3, list(range(ADDRESS, ADDRESS + count)))
    with simulator("--transport", transport, "--port", "0") as (process, ready):
        port = int(ready.split(":")[2].split(",")[0])
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        sock = socket.socket(socket.AF_INET, kind)
        sock.connect(("127.0.0.1", port))
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if transport == "rtu-over-tcp":
            frame = rtu.encode_frame(1, pdu)
            expected = rtu.encode_frame(1, answer_pdu)

            def send(tid: int) -> None:
                sock.sendall(frame)

        else:
            expected = b""

            def send(tid: int) -> None:
                sock.sendall(mbap.encode_frame(tid, 1, pdu))

        size = len(rtu.encode_frame(1, answer_pdu)) if expected else 7 + len(answer_pdu)

        def receive(tid: int) -> bytes:
            data = b""
            while len(data) < size:
                chunk = sock.recv(size - len(data))
                if not chunk:
                    raise SystemExit("connection closed")
                data += chunk
            want = expected or mbap.encode_frame(tid, 1, answer_pdu)
            if data != want:
                raise SystemExit(f"wrong answer {data.hex(' ')}")
            return data

        sock.settimeout(1.0)
        closed_loop(send, receive, 0.3)  # warm up
        cpu0 = cpu_seconds(process.pid)
        n, seconds, delays = closed_loop(send, receive, duration)
        cpu = cpu_seconds(process.pid) - cpu0
        sock.close()
    return Result(f"{transport} FC3 x{count}", n, seconds, cpu, delays)


def table(results: list[Result], baud: int, markdown: bool) -> str:
    t35_ms = silence_time(baud) * 1000
    lines: list[str] = []
    serial = [r for r in results if r.theoretical]
    tcp = {r.scenario.split()[-1]: r.rate for r in results if r.scenario.startswith("tcp ")}
    head = (
        "| scenario | req/s | line max | of max | with our p50 delay | answer delay p50 ms "
        "| p99 ms | CPU µs/req |"
    )
    lines += [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in serial:
        assert r.theoretical is not None
        lines.append(
            f"| {r.scenario} | {r.rate:.1f} | {r.theoretical:.1f} | "
            f"{100 * r.rate / r.theoretical:.1f} % | "
            f"{100 * r.server_bound / r.theoretical:.1f} % | {r.percentile(0.5) * 1000:.2f} | "
            f"{r.percentile(0.99) * 1000:.2f} | {r.cpu_seconds / r.requests * 1e6:.0f} |"
        )
    lines.append("")
    lines.append(f"(t3.5 at {baud} baud = {t35_ms:.2f} ms: the least answer delay allowed)")
    lines.append("")
    lines += ["| scenario | req/s | vs tcp | p50 µs | p99 µs | CPU µs/req |"]
    lines += ["|---|---:|---:|---:|---:|---:|"]
    for r in results:
        if r.theoretical:
            continue
        ratio = r.rate / tcp[r.scenario.split()[-1]]
        lines.append(
            f"| {r.scenario} | {r.rate:.0f} | {ratio:.2f}x | {r.percentile(0.5) * 1e6:.0f} | "
            f"{r.percentile(0.99) * 1e6:.0f} | {r.cpu_seconds / r.requests * 1e6:.0f} |"
        )
    text = "\n".join(lines)
    return text if markdown else text.replace("|---", "").replace("---:", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per scenario")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario; fastest shown")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness of this process and the servers (root: <0)"
    )
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)  # the servers, started later, inherit it
    load = os.getloadavg()[0]
    runs: list[Callable[[], Result]] = [
        lambda count=count: bench_serial(count, args.baud, args.duration) for count in (10, 125)
    ]
    runs += [
        lambda transport=transport, count=count: bench_network(transport, count, args.duration)
        for transport in ("tcp", "rtu-over-tcp", "udp")
        for count in (10, 125)
    ]
    results = [max((run() for _ in range(args.repeat)), key=lambda r: r.rate) for run in runs]
    print(
        f"python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"fastest of {args.repeat} x {args.duration:g} s, nice {os.nice(0)}, "
        f"load average {load:.1f} at start "
        f"/ {os.getloadavg()[0]:.1f} at end on {os.cpu_count()} CPUs"
    )
    print(table(results, args.baud, args.markdown))
    median = statistics.median(r.rate for r in results if r.scenario.startswith("tcp"))
    print(f"(tcp median {median:.0f} req/s, one synchronous Python client)")


if __name__ == "__main__":
    main()
