"""Servers of every transport, created through the config flow and polled by real clients.

UDP with pymodbus's UDP client; RTU over TCP with pymodbus's RTU framer over TCP (listening,
and dialling a gateway stand-in); serial RTU over a socat pty pair with pymodbus's serial
client. Then the errors each transport's form reports on its field.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient, AsyncModbusUdpClient
from pymodbus.framer import FramerType
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.modbus_server import certs, server_form, transports
from custom_components.modbus_server.const import DOMAIN
from custom_components.modbus_server.server_form import serial_ports
from custom_components.modbus_server.transports import (
    SERIAL_CANNOT_OPEN,
    SERIAL_ERRORS,
    start_error_key,
)

from ..modbus.gateway import Gateway
from ..modbus.serial_pair import socat_pair
from .conftest import async_edit_table, find_free_port, point_data

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROW = {**point_data("holding_register", 0, "uint16", writable=True), "id": "setpoint"}


def find_free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings(transport: str, **fields: Any) -> dict[str, Any]:
    """A transport form as a user fills it (unit 1, the common fields at their defaults)."""
    common: dict[str, Any] = {
        CONF_NAME: f"Plant {transport}",
        "unit_id": 1,
        "unmapped": "error",
        "write_timeout": 5.0,
        "read_only": False,
    }
    return {**common, **fields}


async def async_start(hass: HomeAssistant, transport: str) -> dict[str, Any]:
    """Start the server flow and choose the transport: the transport's form."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"transport": transport}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == transport
    return dict(result)


async def async_create(hass: HomeAssistant, transport: str, **fields: Any) -> MockConfigEntry:
    """A server created through the flow, set up, with one writable holding register."""
    result = await async_start(hass, transport)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], settings(transport, **fields)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data["transport"] == transport
    await async_edit_table(hass, entry, add=(ROW,))
    return entry  # type: ignore[no-any-return]


async def async_reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Start the server's reconfigure flow: the transport choice."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
    )
    return dict(result)


async def async_unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def exercise(client: Any) -> None:
    """Write and read back the row; another unit id gets no answer."""
    written = await client.write_register(0, 1234, device_id=1)
    assert not written.isError()
    read = await client.read_holding_registers(0, count=1, device_id=1)
    assert read.registers == [1234]


# --- each transport, created in the flow, polled by a real client ---------------------------


async def test_udp_server_from_the_flow_answers_pymodbus_udp_client(hass: HomeAssistant) -> None:
    port = find_free_udp_port()
    entry = await async_create(hass, "udp", bind_address="127.0.0.1", port=port)
    client = AsyncModbusUdpClient("127.0.0.1", port=port, timeout=2, retries=0)
    assert await client.connect()
    try:
        await exercise(client)
    finally:
        client.close()
    diagnostics = entry.runtime_data.listener.diagnostics()
    assert diagnostics["transport"] == "udp"
    assert diagnostics["requests"] == 2
    assert entry.runtime_data.monitor.snapshot is not None
    await async_unload(hass, entry)


async def test_rtu_over_tcp_listening_server_answers_rtu_framer_over_tcp(
    hass: HomeAssistant, hass_client: Any
) -> None:
    port = find_free_port()
    entry = await async_create(
        hass, "rtu_over_tcp", bind_address="127.0.0.1", port=port, unknown_unit="silent"
    )
    client = AsyncModbusTcpClient(
        "127.0.0.1", port=port, framer=FramerType.RTU, timeout=1, retries=0
    )
    assert await client.connect()
    try:
        await exercise(client)
        with pytest.raises(Exception):  # noqa: B017, PT011 - unit 9 is another slave's: silence
            await client.read_holding_registers(0, count=1, device_id=9)
    finally:
        client.close()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    transport = diagnostics["transport"]
    assert transport["role"] == "listening"
    assert transport["other_units"] == 1
    assert transport["frames"] >= 3
    assert diagnostics["counters"]["requests"] >= 2
    await async_unload(hass, entry)


async def test_rtu_over_tcp_dialling_server_serves_the_master_behind_the_gateway(
    hass: HomeAssistant,
) -> None:
    gateway = Gateway()
    await gateway.start()
    try:
        entry = await async_create(
            hass, "rtu_over_tcp_dial", gateway_host="127.0.0.1", gateway_port=gateway.port
        )
        await asyncio.wait_for(gateway.slave_connected.wait(), 5)
        assert entry.runtime_data.listener.diagnostics()["state"] == "connected"
        client = AsyncModbusTcpClient(
            "127.0.0.1", port=gateway.master_port, framer=FramerType.RTU, timeout=2, retries=0
        )
        assert await client.connect()
        try:
            await exercise(client)
        finally:
            client.close()
        await async_unload(hass, entry)
    finally:
        await gateway.stop()


@pytest.fixture
async def pty() -> AsyncIterator[tuple[str, str]]:
    async with socat_pair() as pair:
        yield pair


async def test_serial_server_on_a_pty_answers_pymodbus_serial_client(
    hass: HomeAssistant, pty: tuple[str, str]
) -> None:
    slave, master = pty
    result = await async_start(hass, "serial")
    # a new serial server is silent for other unit ids: they belong to the bus's other slaves
    unknown = next(k for k in result["data_schema"].schema if k == "unknown_unit")
    assert unknown.default() == "silent"
    entry = await async_create(
        hass, "serial", serial_port=slave, baudrate="19200", parity="N", stopbits="1"
    )
    assert entry.data["baudrate"] == 19200
    client = AsyncModbusSerialClient(
        master, baudrate=19200, parity="N", stopbits=1, timeout=1, retries=0
    )
    assert await client.connect()
    try:
        await exercise(client)
        with pytest.raises(Exception):  # noqa: B017, PT011 - another slave's unit id: silence
            await client.read_holding_registers(0, count=1, device_id=9)
    finally:
        client.close()
    listener = entry.runtime_data.listener
    assert [client.host for client in listener.connections] == [slave]  # a master polls
    assert listener.stats.counters.requests >= 2
    diagnostics = listener.diagnostics()
    assert diagnostics["transport"] == "rtu"
    assert diagnostics["state"] == "open"
    assert diagnostics["other_units"] == 1
    await async_unload(hass, entry)
    # unloaded: the port is free again (another program could open it)
    os.close(os.open(slave, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))


async def test_reconfigure_moves_a_tcp_server_to_udp_and_keeps_its_devices(
    hass: HomeAssistant,
) -> None:
    port = find_free_port()
    entry = await async_create(hass, "tcp", bind_address="127.0.0.1", port=port)
    devices = set(entry.runtime_data.devices)
    result = await async_reconfigure(hass, entry)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"transport": "udp"})
    assert result["step_id"] == "udp"
    udp_port = find_free_udp_port()
    form = settings("udp", bind_address="127.0.0.1", port=udp_port)
    del form["unit_id"], form["unmapped"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.listener.transport == "udp"
    assert set(entry.runtime_data.devices) == devices
    client = AsyncModbusUdpClient("127.0.0.1", port=udp_port, timeout=2, retries=0)
    assert await client.connect()
    try:
        read = await client.read_holding_registers(0, count=1, device_id=1)
        assert not read.isError()
    finally:
        client.close()
    await async_unload(hass, entry)


# --- errors on the field ---------------------------------------------------------------------


async def test_a_busy_udp_port_is_reported_on_the_port_field(hass: HomeAssistant) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        result = await async_start(hass, "udp")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], settings("udp", bind_address="127.0.0.1", port=port)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PORT: "port_in_use"}
    assert result["description_placeholders"]["port"] == str(port)


async def test_a_busy_rtu_over_tcp_port_is_reported_on_the_port_field(
    hass: HomeAssistant,
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = await async_start(hass, "rtu_over_tcp")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], settings("rtu_over_tcp", bind_address="127.0.0.1", port=port)
        )
    assert result["errors"] == {CONF_PORT: "port_in_use"}


async def test_a_serial_port_that_does_not_exist_is_reported_on_its_field(
    hass: HomeAssistant, tmp_path: Any
) -> None:
    result = await async_start(hass, "serial")
    missing = str(tmp_path / "ttyUSB-gone")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], settings("serial", serial_port=missing)
    )
    assert result["errors"] == {"serial_port": "serial_port_missing"}


async def test_a_serial_port_held_by_another_program_is_busy(
    hass: HomeAssistant, pty: tuple[str, str]
) -> None:
    holder = os.open(pty[0], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = await async_start(hass, "serial")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], settings("serial", serial_port=pty[0])
        )
    finally:
        os.close(holder)
    assert result["errors"] == {"serial_port": "serial_port_busy"}


async def test_an_empty_serial_port_asks_for_one(hass: HomeAssistant) -> None:
    result = await async_start(hass, "serial")
    form = settings("serial")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["errors"] == {"serial_port": "serial_port_required"}


async def test_a_path_that_is_no_serial_port_is_reported(
    hass: HomeAssistant, tmp_path: Any
) -> None:
    plain = tmp_path / "notatty"
    plain.write_text("")
    result = await async_start(hass, "serial")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], settings("serial", serial_port=str(plain))
    )
    assert result["errors"] == {"serial_port": "not_a_serial_port"}


async def test_a_serial_server_whose_port_is_no_tty_says_so_at_setup(
    hass: HomeAssistant, pty: tuple[str, str], tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The port became a plain file after the form checked it: setup names it, like the form."""
    entry = await async_create(
        hass, "serial", serial_port=pty[0], baudrate="19200", parity="N", stopbits="1"
    )
    await async_unload(hass, entry)
    plain = tmp_path / "notatty"
    plain.write_text("")
    hass.config_entries.async_update_entry(entry, data={**entry.data, "serial_port": str(plain)})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "not_a_serial_port"
    message = f"The serial port {plain} 19200 8N1 of Plant serial is no serial port"
    assert message in str(entry.reason)
    assert message in caplog.text


def test_every_serial_error_has_a_form_error_and_a_setup_message() -> None:
    """One errno table for the form and the setup: each key is translated in both places."""
    strings = json.loads((Path(transports.__file__).parent / "strings.json").read_text())
    for code, key in {**SERIAL_ERRORS, errno.EIO: SERIAL_CANNOT_OPEN}.items():
        assert start_error_key("serial", OSError(code, "x")) == key
        assert key in strings["config"]["error"]
        assert strings["exceptions"][key]["message"]


async def test_a_turnaround_shorter_than_the_silence_is_refused(
    hass: HomeAssistant, pty: tuple[str, str]
) -> None:
    result = await async_start(hass, "serial")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], settings("serial", serial_port=pty[0], turnaround_delay=0.5)
    )
    assert result["errors"] == {"turnaround_delay": "turnaround_too_short"}
    assert result["description_placeholders"]["minimum_ms"] == "4.01"


async def test_an_empty_gateway_host_is_reported(hass: HomeAssistant) -> None:
    result = await async_start(hass, "rtu_over_tcp_dial")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], settings("rtu_over_tcp_dial", gateway_host=" ", gateway_port=8899)
    )
    assert result["errors"] == {"gateway_host": "invalid_gateway_host"}


# --- TLS: the PEM is checked on its field, the key never shown or logged ------------------------


@pytest.fixture(scope="module")
def pki() -> dict[str, str]:
    ca = certs.CertificateAuthority.create("Test CA")
    server = ca.issue_server("modbus.local", hosts=["127.0.0.1"])
    other = ca.issue_server("other", hosts=["127.0.0.2"])
    return {
        "ca": ca.certificate_pem.decode(),
        "cert": server.certificate_pem.decode(),
        "key": server.key_pem().decode(),
        "other_key": other.key_pem().decode(),
    }


def tls_form(pki: dict[str, str], port: int, **overrides: Any) -> dict[str, Any]:
    pem = {"tls_certificate": pki["cert"], "tls_key": pki["key"], "tls_client_ca": pki["ca"]}
    return settings("tls", bind_address="127.0.0.1", port=port, **{**pem, **overrides})


async def test_tls_server_from_pasted_pem_listens_and_hides_its_key(
    hass: HomeAssistant, hass_client: Any, pki: dict[str, str], caplog: Any
) -> None:
    port = find_free_port()
    result = await async_start(hass, "tls")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], tls_form(pki, port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.runtime_data.server.tls is not None
    assert entry.runtime_data.server.port == port
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["settings"]["tls_key"] == "**REDACTED**"
    assert diagnostics["settings"]["tls_certificate"][0]["subject"] == "CN=modbus.local"
    assert "PRIVATE KEY" not in str(diagnostics)
    assert "PRIVATE KEY" not in caplog.text
    # reconfigure: the key field is empty and keeps the stored key
    result = await async_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"transport": "tls"})
    key_field = next(k for k in result["data_schema"].schema if k == "tls_key")
    assert key_field.description == {"suggested_value": ""}
    form = tls_form(pki, port, tls_key="")
    del form["unit_id"], form["unmapped"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.ABORT
    assert entry.data["tls_key"] == pki["key"]
    await hass.async_block_till_done()
    await async_unload(hass, entry)


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"tls_certificate": "not a certificate"}, {"tls_certificate": "pem_file_missing"}),
        (
            {"tls_certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
            {"tls_certificate": "invalid_certificate"},
        ),
        ({"tls_key": "other_key"}, {"tls_key": "key_mismatch"}),
        (
            {"tls_client_ca": "-----BEGIN CERTIFICATE-----\n"},
            {"tls_client_ca": "invalid_client_ca"},
        ),
        ({"tls_key": ""}, {"tls_key": "pem_required"}),
    ],
)
async def test_bad_pem_is_reported_on_its_field(
    hass: HomeAssistant, pki: dict[str, str], overrides: dict[str, str], errors: dict[str, str]
) -> None:
    values = {k: pki.get(v, v) for k, v in overrides.items()}
    result = await async_start(hass, "tls")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], tls_form(pki, find_free_port(), **values)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_tls_pem_from_a_file_in_the_config_folder(
    hass: HomeAssistant, pki: dict[str, str]
) -> None:
    folder = hass.config.path("modbus_tls")
    os.makedirs(folder, exist_ok=True)
    for name, key in (("server.pem", "cert"), ("server.key", "key"), ("ca.pem", "ca")):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as file:
            file.write(pki[key])
    result = await async_start(hass, "tls")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        tls_form(
            pki,
            find_free_port(),
            tls_certificate="modbus_tls/server.pem",
            tls_key="modbus_tls/server.key",
            tls_client_ca="modbus_tls/ca.pem",
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.data["tls_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    await async_unload(hass, entry)


# --- the serial port list ----------------------------------------------------------------------


def test_serial_ports_list_by_id_paths_first_without_their_kernel_names(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = tmp_path / "dev"
    by_id = dev / "serial" / "by-id"
    by_id.mkdir(parents=True)
    for name in ("ttyUSB0", "ttyUSB1", "ttyACM0"):
        (dev / name).write_text("")
    (by_id / "usb-FTDI_FT232R-if00-port0").symlink_to(dev / "ttyUSB1")
    monkeypatch.setattr(server_form, "BY_ID", str(by_id))
    monkeypatch.setattr(server_form, "_SERIAL_GLOBS", (str(dev / "ttyUSB*"), str(dev / "ttyACM*")))
    assert [option["value"] for option in serial_ports()] == [
        str(by_id / "usb-FTDI_FT232R-if00-port0"),
        str(dev / "ttyUSB0"),
        str(dev / "ttyACM0"),
    ]


async def test_an_entry_without_a_transport_is_tcp(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    assert "transport" not in loaded_entry.data
    assert loaded_entry.runtime_data.listener.transport == "tcp"
    assert loaded_entry.runtime_data.listener.endpoint is loaded_entry.runtime_data.server
