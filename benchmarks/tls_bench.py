"""Modbus/TCP Security (TLS) against plain Modbus TCP, same server, same client, one run.

Usage::

    .venv/bin/python benchmarks/tls_bench.py [--duration 3]

Runs ``scripts/serve`` (this project's core, its own process) once over plain TCP and once
over TLS with a roles file (so every request also passes the rights check), and drives it
from this process with asyncio clients: closed loop (one FC3 x10 request in flight per
connection, every answer checked) at 1 and 8 connections, then full handshakes (connect,
TLS 1.3 handshake with client certificate, one request, close) from 4 clients at once, with
an RSA-2048 and with an EC P-256 server key. Prints req/s, p50/p99 latency, and the server
process's CPU time per request or handshake (from /proc). The client runs on the same
machine, so absolute numbers are the pair's; the ratios are the point.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_components.modbus_server.certs import (  # noqa: E402
    CertificateAuthority,
    KeyType,
    chain_pem,
)

SERVE = ROOT / "scripts" / "serve"
CLK_TCK = os.sysconf("SC_CLK_TCK")
REQUEST = struct.Struct(">HHHBBHH")  # MBAP + FC3 address count
ANSWER_SIZE = 7 + 2 + 20


@dataclass
class Files:
    directory: Path

    def __getitem__(self, name: str) -> str:
        return str(self.directory / name)


def make_files(directory: Path) -> Files:
    ca = CertificateAuthority.create("Bench CA")
    for key in ("rsa", "ec"):
        kind: KeyType = "rsa" if key == "rsa" else "ec"
        server = ca.issue_server("bench", ["127.0.0.1"], key=kind)
        (directory / f"server-{key}.pem").write_bytes(chain_pem(server))
        (directory / f"server-{key}.key").write_bytes(server.key_pem())
    client = ca.issue_client("bench-client", "Operator")
    (directory / "ca.pem").write_bytes(ca.certificate_pem)
    (directory / "client.pem").write_bytes(client.certificate_pem)
    (directory / "client.key").write_bytes(client.key_pem())
    (directory / "roles.json").write_text(json.dumps({"Operator": "read-write"}))
    return Files(directory)


class Served:
    """scripts/serve in its own process; its CPU time read from /proc."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port

    @classmethod
    async def start(cls, *args: str) -> Served:
        process = await asyncio.create_subprocess_exec(
            str(SERVE), "--port", "0", *args, stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        line = (await process.stdout.readline()).decode()
        port = int(line.split(":")[2].split(",")[0])
        return cls(process, port)

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    async def stop(self) -> None:
        self.process.terminate()
        await self.process.wait()


def client_context(files: Files) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=files["ca.pem"])
    context.load_cert_chain(files["client.pem"], files["client.key"])
    return context


async def closed_loop(
    port: int, context: ssl.SSLContext | None, connections: int, duration: float
) -> list[float]:
    """Latencies of every request answered within `duration`, `connections` in parallel."""
    deadline = time.perf_counter() + duration
    latencies: list[float] = []

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        tid = 0
        while (start := time.perf_counter()) < deadline:
            tid = (tid + 1) & 0xFFFF
            writer.write(REQUEST.pack(tid, 0, 6, 1, 3, 100, 10))
            answer = await reader.readexactly(ANSWER_SIZE)
            latencies.append(time.perf_counter() - start)
            if answer[:2] != tid.to_bytes(2) or answer[7] != 3:
                raise RuntimeError(f"bad answer {answer.hex()}")
        writer.close()
        await writer.wait_closed()

    await asyncio.gather(*(one() for _ in range(connections)))
    return latencies


async def handshakes(port: int, context: ssl.SSLContext, parallel: int, duration: float) -> int:
    """Full handshakes (+ one request each) completed within `duration`."""
    deadline = time.perf_counter() + duration
    done = 0

    async def one() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
            writer.write(REQUEST.pack(1, 0, 6, 1, 3, 100, 10))
            await reader.readexactly(ANSWER_SIZE)
            writer.close()
            await writer.wait_closed()
            done += 1

    await asyncio.gather(*(one() for _ in range(parallel)))
    return done


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=1000)[int(fraction * 1000) - 1]


async def main(duration: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(Path(tmp))
        tls_args = ["--transport", "tls", "--ca", files["ca.pem"], "--roles", files["roles.json"]]
        rows: list[tuple[str, str, str, str, str]] = []
        context = client_context(files)
        for name, args, client in (
            ("tcp", ["--transport", "tcp"], None),
            ("tls", [*tls_args, "--cert", files["server-rsa.pem"], "--key",
                     files["server-rsa.key"]], context),
        ):  # fmt: skip
            served = await Served.start(*args)
            try:
                for connections in (1, 8):
                    await closed_loop(served.port, client, connections, 0.3)  # warm up
                    cpu = served.cpu()
                    latencies = await closed_loop(served.port, client, connections, duration)
                    cpu = served.cpu() - cpu
                    rows.append(
                        (
                            f"{name} {connections}c closed loop",
                            f"{len(latencies) / duration:,.0f} req/s",
                            f"p50 {percentile(latencies, 0.5) * 1e3:.3f} ms",
                            f"p99 {percentile(latencies, 0.99) * 1e3:.3f} ms",
                            f"{cpu / len(latencies) * 1e6:.1f} us CPU/req",
                        )
                    )
            finally:
                await served.stop()
        for key in ("rsa", "ec"):
            served = await Served.start(
                *tls_args, "--cert", files[f"server-{key}.pem"], "--key", files[f"server-{key}.key"]
            )
            try:
                cpu = served.cpu()
                count = await handshakes(served.port, context, 4, duration)
                cpu = served.cpu() - cpu
                rows.append(
                    (
                        f"tls handshakes, {key.upper()} server key",
                        f"{count / duration:,.0f} handshakes/s",
                        "4 clients",
                        "TLS 1.3 + client cert",
                        f"{cpu / count * 1e3:.2f} ms CPU/handshake",
                    )
                )
            finally:
                await served.stop()
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    print(f"Modbus/TCP Security benchmark, {duration:g} s per row, FC3 x10, {os.cpu_count()} CPUs")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().duration))
