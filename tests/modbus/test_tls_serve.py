"""scripts/serve --transport tls: certificates, the roles file, the NULL role, bad options."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from .test_serve import SERVE, serve
from .tls_pki import Pki, pymodbus_tls
from .tools import run


def tls_args(pki: Pki, *extra: str) -> list[str]:
    return [
        "--transport", "tls", "--port", "0",
        "--cert", str(pki.server_chain), "--key", str(pki.server_key), "--ca", str(pki.root),
        *extra,
    ]  # fmt: skip


@pytest.fixture
def roles(tmp_path: Path) -> Path:
    path = tmp_path / "roles.json"
    path.write_text(json.dumps({"Operator": "read-write", "Viewer": "read"}))
    return path


async def test_simulator_serves_tls_with_roles_from_a_file(pki: Pki, roles: Path) -> None:
    async with serve(*tls_args(pki, "--roles", str(roles))) as simulator:
        assert "roles Operator=read-write, Viewer=read, NULL=read" in simulator.ready
        async with pymodbus_tls(pki, simulator.port, "operator") as (operator, connected):
            assert connected
            assert not (await operator.write_register(20, 4242)).isError()
        async with pymodbus_tls(pki, simulator.port, "viewer") as (viewer, connected):
            assert connected
            assert (await viewer.write_register(20, 1)).exception_code == 1
            assert (await viewer.read_holding_registers(20, count=1)).registers == [4242]
        async with pymodbus_tls(pki, simulator.port, "norole") as (anonymous, connected):
            assert connected  # NULL role: read only by default
            assert (await anonymous.read_holding_registers(20, count=1)).registers == [4242]
            assert (await anonymous.write_register(20, 1)).exception_code == 1
        async with pymodbus_tls(pki, simulator.port, "guest") as (guest, connected):
            assert connected  # a role the file does not name: no rights
            assert (await guest.read_holding_registers(20, count=1)).exception_code == 1


async def test_simulator_null_role_rights_are_configurable(pki: Pki, roles: Path) -> None:
    args = tls_args(pki, "--roles", str(roles), "--null-role", "none")
    async with (
        serve(*args) as simulator,
        pymodbus_tls(pki, simulator.port, "norole") as (anonymous, connected),
    ):
        assert connected
        assert (await anonymous.read_holding_registers(0, count=1)).exception_code == 1


async def test_simulator_without_roles_lets_every_trusted_client_write(pki: Pki) -> None:
    async with serve(*tls_args(pki)) as simulator:
        assert "no role authorization" in simulator.ready
        async with pymodbus_tls(pki, simulator.port, "viewer") as (viewer, connected):
            assert connected
            assert not (await viewer.write_register(3, 33)).isError()
        async with pymodbus_tls(pki, simulator.port, "other_ca") as (stranger, connected):
            if connected:  # TLS 1.3 tells the client after its handshake
                with pytest.raises(Exception, match="Modbus Error"):
                    await stranger.read_holding_registers(3, count=1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "--roles"),
        ('{"Operator": "write"}', 'expected {"role": "none|read|read-write"}'),
        ('["Operator"]', 'expected {"role"'),
    ],
)
async def test_bad_roles_files_end_with_a_message(
    pki: Pki, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "roles.json"
    path.write_text(content)
    code, out = await run(str(SERVE), *tls_args(pki, "--roles", str(path)))
    assert code == 2
    assert message in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--transport", "tls", "--cert", "c.pem"], "needs --key --ca"),
        (["--transport", "tcp", "--roles", "r.json"], "need --transport tls"),
        (
            ["--transport", "tls", "--cert", "/nonexistent", "--key", "k", "--ca", "c"],
            "cannot load the TLS files",
        ),
    ],
)
async def test_bad_tls_options_end_with_a_message(args: list[str], message: str) -> None:
    code, out = await run(str(SERVE), *args)
    assert code == 2
    assert message in out


async def test_simulator_takes_file_paths_relative_to_the_callers_directory(pki: Pki) -> None:
    process = await asyncio.create_subprocess_exec(
        str(SERVE),
        *("--transport", "tls", "--port", "0", "--cert", pki.server_chain.name),
        *("--key", pki.server_key.name, "--ca", pki.root.name),
        cwd=pki.directory,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
    finally:
        process.terminate()
        await process.wait()
    assert line.startswith("ready: tls on 127.0.0.1:"), line
