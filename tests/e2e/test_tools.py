"""Outside tools against the running server: nmap's modbus-discover and tshark's dissector;
and what Home Assistant itself logged and shows about the server."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from tests.conftest import require_tool

from .conftest import HA, run_tool

pytestmark = pytest.mark.e2e


def test_nmap_modbus_discover_finds_the_server_and_its_identification(ha: HA) -> None:
    nmap = require_tool("nmap")
    res = run_tool(
        # "+": run the script on this port too (its port rule only matches 502)
        nmap, "-Pn", "-n", "-sT", "-p", str(ha.modbus_port), "--script", "+modbus-discover",
        "127.0.0.1", timeout=120,
    )  # fmt: skip
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    assert f"{ha.modbus_port}/tcp open" in out, out
    assert "modbus-discover" in out, out
    ident = re.search(r"Device identification: (.*)", out)
    assert ident is not None, out
    assert "Home Assistant" in ident.group(1), out
    assert "modbus_server" in ident.group(1), out


async def modbus_session(port: int) -> None:
    """Every function code the server offers, plus exceptions, on one connection."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
    assert await client.connect()
    try:
        assert not (await client.read_coils(0, count=2)).isError()
        assert not (await client.read_discrete_inputs(0, count=2)).isError()
        assert not (await client.read_holding_registers(0, count=16)).isError()
        assert not (await client.read_input_registers(0, count=13)).isError()
        assert not (await client.write_coil(1, True)).isError()
        assert not (await client.write_register(2, 1)).isError()
        assert not (await client.write_registers(0, [0x41B0, 0])).isError()  # 22.0
        assert (await client.write_register(2, 9)).isError()  # 03
        assert (await client.read_holding_registers(100, count=1)).isError()  # 02
        assert not (await client.read_device_information()).isError()
    finally:
        client.close()


async def test_tshark_decodes_a_session_without_malformed_packets(ha: HA, tmp_path: Path) -> None:
    tshark = require_tool("tshark")
    capture = tmp_path / "session.pcapng"
    port = ha.modbus_port
    proc = subprocess.Popen(
        [tshark, "-i", "lo", "-f", f"tcp port {port}", "-w", str(capture), "-a", "duration:60"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not capture.exists() or capture.stat().st_size == 0:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "tshark did not start capturing"
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        await modbus_session(port)
        await asyncio.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    # -d: dissect this port as Modbus/TCP; -o: and classify packets to it as queries (the
    # dissector tells queries from responses by this port preference, default 502)
    decode = ("-r", str(capture), "-d", f"tcp.port=={port},mbtcp", "-o", f"mbtcp.tcp.port:{port}")
    detail = run_tool(tshark, *decode, "-V", timeout=60)
    assert detail.returncode == 0, detail.stderr
    text = detail.stdout
    assert "Malformed" not in text
    assert "Unable to classify" not in text
    malformed = run_tool(tshark, *decode, "-Y", "_ws.malformed || _ws.expert.severity >= 6291456")
    assert malformed.stdout.strip() == "", malformed.stdout
    frames = run_tool(tshark, *decode, "-Y", "mbtcp", "-T", "fields", "-e", "modbus.func_code")
    codes = [int(c) for c in frames.stdout.split() if c.strip().isdigit()]
    # requests and responses of FC 1, 2, 3, 4, 5, 6, 16, 43 and exception responses (0x80 | fc)
    for fc in (1, 2, 3, 4, 5, 6, 16, 43):
        assert codes.count(fc) >= 2, (fc, codes)
    assert "Illegal data value" in text
    assert "Illegal data address" in text


async def test_diagnostic_sensor_counts_connected_clients(ha: HA) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=ha.modbus_port, timeout=5, retries=0)
    assert await client.connect()
    try:
        async with ha.client() as hass:
            states = await hass.states()
            (entity_id,) = [
                e
                for e, s in states.items()
                if e.startswith("sensor.")
                and s["attributes"].get("friendly_name", "").endswith("Connected clients")
            ]
            await hass.wait_state(
                entity_id, lambda s: s["state"] not in ("unknown", "0"), timeout=12
            )
    finally:
        client.close()


def test_home_assistant_logged_no_error_from_the_integration(ha: HA) -> None:
    log = (ha.proc.config_dir / "home-assistant.log").read_text(errors="replace")
    problems = [
        line
        for line in log.splitlines()
        if ("ERROR" in line or "Detected that custom integration" in line)
        and "modbus_server" in line
    ]
    assert not problems, "\n".join(problems[:5])
