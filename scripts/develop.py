"""scripts/develop: a real Home Assistant with this integration and the demo address table.

Run through ``scripts/develop`` (which prepares .venv-hass). The config dir is
``.develop/config``: demo/configuration.yaml and demo/packages are copied in on every start,
the state (.storage: user, entries, entity registry) is kept, so a second start reuses it.
On the first start the owner is created through onboarding and the Modbus server entry and its
rows through the config-flow and subentry-flow API, exactly as the frontend would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hasslib import (
    DEMO,
    DEMO_PORT,
    DEMO_RTU_PORT,
    DEMO_UDP_PORT,
    MBPOLL_EXAMPLES,
    METER_NAME,
    METER_TABLE,
    PROFILE_METER_NAME,
    ROOT,
    Credentials,
    HassClient,
    HassProcess,
    http_port_of,
    link_integration,
    mbpoll_command,
    mbpoll_rtu_over_tcp,
    mbpoll_udp,
    setup_demo_entry,
    setup_transport_demos,
    write_http_storage,
    write_machine_package,
    write_onboarding_storage,
)

CONFIG = ROOT / ".develop" / "config"
HTTP_PORT = int(os.environ.get("DEVELOP_HTTP_PORT", "8123"))
MODBUS_PORT = int(os.environ.get("DEVELOP_MODBUS_PORT", str(DEMO_PORT)))
"""The demo server's port when the demo is first set up (beside another instance: set it)."""


def port_free(port: int) -> bool:
    """Whether a server can listen on this port (all interfaces)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def prepare() -> None:
    """Seed .develop/config from demo/ (the state in .storage is kept)."""
    CONFIG.mkdir(parents=True, exist_ok=True)
    shutil.copy2(DEMO / "configuration.yaml", CONFIG / "configuration.yaml")
    shutil.copytree(DEMO / "packages", CONFIG / "packages", dirs_exist_ok=True)
    link_integration(CONFIG)
    if http_port_of(CONFIG) != HTTP_PORT:
        write_http_storage(CONFIG, HTTP_PORT, host=None)
    write_onboarding_storage(CONFIG)
    for note in write_machine_package(CONFIG):
        print(f"develop: note: {note}")


async def run() -> int:
    """Start, set up on first use, print the summary, wait for Ctrl-C."""
    for port, what in (
        (HTTP_PORT, "HTTP (set DEVELOP_HTTP_PORT)"),
        (MODBUS_PORT, "Modbus (set DEVELOP_MODBUS_PORT)"),
    ):
        # (the UDP and RTU-over-TCP demo servers retry by themselves when their port is busy)
        if not port_free(port):
            print(f"develop: port {port} for {what} is in use; is another instance running?")
            return 1
    prepare()
    hass = HassProcess(CONFIG, HTTP_PORT, skip_pip=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"develop: starting Home Assistant ({CONFIG.relative_to(ROOT)}) ...", flush=True)
    hass.start()
    creds = Credentials()
    try:
        async with aiohttp.ClientSession() as session:
            client = HassClient(hass.url, session)
            await client.wait_http(hass, timeout=180)
            await client.onboard_or_login(creds)
            await client.wait_running(timeout=180)
            entries = [e for e in await client.entries() if e["title"] == "Modbus demo"]
            if entries:
                entry_id = entries[0]["entry_id"]
                print(f"develop: reusing the Modbus server entry {entry_id}")
            else:
                print("develop: creating the Modbus server entry and the demo table (flows API)")
                entry_id = await setup_demo_entry(
                    client,
                    port=MODBUS_PORT,
                    bind_address="0.0.0.0",
                    unit_id=1,
                    meter_table=METER_TABLE,
                    profile_meter=True,
                )
            if await setup_transport_demos(client):
                print("develop: created the UDP and RTU-over-TCP demo servers (flows API)")
            for _ in range(100):
                if await client.entry_state(entry_id) == "loaded":
                    break
                await asyncio.sleep(0.1)
        print_summary(creds)
        while not stop.is_set() and hass.alive():
            await _sleep_or(stop, 1.0)
    except Exception as err:
        print(f"develop: {err}\n{hass.log_tail()}", file=sys.stderr)
        hass.stop()
        return 1
    if not hass.alive():
        print(f"develop: Home Assistant exited ({hass.proc and hass.proc.returncode})")
        print(hass.log_tail(), file=sys.stderr)
        return 1
    print("\ndevelop: stopping Home Assistant ...", flush=True)
    code = hass.stop()
    print(f"develop: stopped (exit code {code}); state kept in {CONFIG.relative_to(ROOT)}")
    return 0


async def _sleep_or(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


def print_summary(creds: Credentials) -> None:
    """UI address, login, Modbus port and mbpoll commands."""
    lines = [
        "",
        "Home Assistant is running with the Modbus Server integration.",
        f"  UI:          http://127.0.0.1:{HTTP_PORT}/config/integrations/integration/"
        "modbus_server",
        f"  login:       {creds.username} / {creds.password}",
        f"  Modbus TCP:  port {MODBUS_PORT} on all interfaces; devices: the demo table on"
        f" unit 1, {METER_NAME} on unit 2, {PROFILE_METER_NAME} on unit 3"
        " (other unit ids: exception 0x0B)",
        f"  logs:        {(CONFIG / 'home-assistant.log').relative_to(ROOT)}",
        "",
        "Try (Debian: apt-get install mbpoll):",
    ]
    for what, args, values in MBPOLL_EXAMPLES:
        lines += [f"  # {what}", f"  {mbpoll_command(args, MODBUS_PORT, values=values)}"]
    meter = "-t 3:float -B -r 1 -c 2"
    lines += [
        "",
        f"  Modbus UDP on port {DEMO_UDP_PORT} and RTU over TCP on port {DEMO_RTU_PORT}"
        " (a gateway connects there): unit 1 holds the energy meter's rows.",
        "  mbpoll speaks neither; socat bridges them (apt-get install socat):",
        "  # UDP: meter energy and outdoor temperature, float32 ABCD",
        *(f"  {line}" for line in mbpoll_udp(meter, DEMO_UDP_PORT)),
        "  # RTU over TCP: socat plays the gateway, mbpoll the RTU master on its pty",
        *(f"  {line}" for line in mbpoll_rtu_over_tcp(meter, DEMO_RTU_PORT)),
    ]
    lines += ["", "Ctrl-C stops Home Assistant; the next start reuses its state."]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(run()))
