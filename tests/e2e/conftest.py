"""End-to-end tests: ONE real `hass` process (the .venv-hass Home Assistant) per session.

The session fixture makes a temporary config dir (the demo entities, no default_config, HTTP
on a free 127.0.0.1 port), starts `hass`, onboards the owner, creates the Modbus server entry
on a free port and the demo table through the flows API, and always kills the process at the
end. Tests are async (each gets its own event loop and HTTP session) and talk to it only over
127.0.0.1: HA's REST/websocket API and Modbus TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_socket

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from hasslib import (  # noqa: E402
    HASS_VENV,
    Credentials,
    HassClient,
    HassProcess,
    free_port,
    prepare_fast_config,
    setup_demo_entry,
)

pytestmark = pytest.mark.e2e


@dataclass
class HA:
    """The running Home Assistant of this session."""

    proc: HassProcess
    modbus_port: int
    entry_id: str
    token: str

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[HassClient]:
        """An authenticated API client (own HTTP session, closed afterwards)."""
        async with aiohttp.ClientSession() as session:
            client = HassClient(self.proc.url, session)
            client.token = self.token
            yield client


def _allow_loopback() -> None:
    pytest_socket.socket_allow_hosts(["127.0.0.1", "::1"])
    pytest_socket.enable_socket()


def _run(coro: object) -> object:
    """Run a coroutine on a private loop (not the tests' loop; leaves no threads)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)  # type: ignore[arg-type]
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


async def start_and_login(proc: HassProcess, creds: Credentials) -> str:
    """Start hass, onboard or log in, wait for RUNNING; the access token."""
    proc.start()
    async with aiohttp.ClientSession() as session:
        client = HassClient(proc.url, session)
        await client.wait_http(proc, timeout=120)
        await client.onboard_or_login(creds)
        await client.wait_running(timeout=120)
        assert client.token
        return client.token


async def _setup(proc: HassProcess, modbus_port: int) -> tuple[str, str]:
    token = await start_and_login(proc, Credentials())
    async with aiohttp.ClientSession() as session:
        client = HassClient(proc.url, session)
        client.token = token
        entry_id = await setup_demo_entry(client, port=modbus_port, bind_address="127.0.0.1")
        for _ in range(200):
            if await client.entry_state(entry_id) == "loaded":
                break
            await asyncio.sleep(0.05)
    return token, entry_id


@pytest.fixture(scope="session")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HA]:
    """The session's Home Assistant with the demo table on a free Modbus port."""
    if not (HASS_VENV / "bin" / "hass").exists():
        message = ".venv-hass is missing: run scripts/setup-hass"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    _allow_loopback()
    config_dir = tmp_path_factory.mktemp("hass-config")
    http_port = free_port()
    modbus_port = free_port()
    prepare_fast_config(config_dir, http_port)
    proc = HassProcess(config_dir, http_port)
    try:
        token, entry_id = _run(_setup(proc, modbus_port))  # type: ignore[misc]
    except BaseException:
        tail = proc.log_tail()
        proc.kill()
        pytest.fail(f"Home Assistant did not start:\n{tail}")
    try:
        yield HA(proc, modbus_port, entry_id, token)
    finally:
        proc.kill()


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Real loopback sockets (the HA test plugin blocks sockets by default)."""
    pytest_socket.socket_allow_hosts(["127.0.0.1", "::1"])


def run_tool(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run an external tool; text output."""
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)
