"""Modbus/TCP Security over real sockets: pymodbus's TLS client, raw TLS and TCP clients."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct

import pytest
from pymodbus.exceptions import ModbusException

from custom_components.modbus_server.modbus import Area, Rights, Server
from custom_components.modbus_server.modbus.tls import server_context

from .client import MBAP, RawClient, frame
from .test_limits import RESPONSE_BUFFER_BOUND, until_idle
from .tls_pki import Pki, Recorder, pymodbus_tls, tls_server
from .tools import eventually


def test_tls_server_listens_on_port_802_by_default(pki: Pki) -> None:
    assert Server(on_read=lambda *_: [], tls=pki.server_context()).port == 802
    assert Server(on_read=lambda *_: []).port == 502


async def test_operator_reads_and_writes_and_callbacks_see_its_role(pki: Pki) -> None:
    memory = Recorder()
    async with (
        tls_server(pki, memory) as server,
        pymodbus_tls(pki, server.port, "operator") as (client, connected),
    ):
        assert connected
        assert (await client.read_holding_registers(10, count=2)).registers == [10, 11]
        assert not (await client.write_register(100, 0xBEEF)).isError()
        assert not (await client.write_coils(3, [True, True])).isError()
        (info,) = server.connections
        assert (info.transport, info.role, info.subject) == (
            "tls",
            "Operator",
            "CN=plc-operator",
        )
    assert memory.data[Area.HOLDING_REGISTER][100] == 0xBEEF
    assert memory.data[Area.COIL][3:5] == [1, 1]
    assert memory.roles == ["Operator"]


async def test_viewer_writes_are_illegal_function_and_change_nothing(pki: Pki) -> None:
    memory = Recorder()
    async with (
        tls_server(pki, memory) as server,
        pymodbus_tls(pki, server.port, "viewer") as (client, connected),
    ):
        assert connected
        assert (await client.read_holding_registers(10, count=1)).registers == [10]
        refused = [
            await client.write_register(100, 1),
            await client.write_registers(100, [1, 2]),
            await client.write_coil(3, True),
            await client.write_coils(3, [True]),
            await client.mask_write_register(address=100, and_mask=0, or_mask=1),
            await client.readwrite_registers(
                read_address=0, read_count=1, write_address=100, values=[1]
            ),
        ]
        assert [(r.isError(), r.exception_code) for r in refused] == [(True, 1)] * 6
        # the connection stays usable: refusals are per request
        assert (await client.read_input_registers(0, count=1)).registers == [0xFFFF]
    assert memory.writes == []
    assert memory.data[Area.HOLDING_REGISTER][100] == 100
    assert server.stats.counters.exceptions[1] == 6


@pytest.mark.parametrize(
    ("client", "role", "read_allowed"),
    [("norole", None, True), ("guest", "Guest", False)],
)
async def test_null_role_and_unlisted_role_get_their_rights(
    pki: Pki, client: str, role: str | None, read_allowed: bool
) -> None:
    """No role extension: the NULL role (here read); a role the table lacks: no rights."""
    memory = Recorder()
    async with (
        tls_server(pki, memory) as server,
        pymodbus_tls(pki, server.port, client) as (modbus, connected),
    ):
        assert connected
        read = await modbus.read_holding_registers(5, count=1)
        write = await modbus.write_register(5, 1)
        assert server.connections[0].role == role
    assert (not read.isError()) is read_allowed
    assert (write.isError(), write.exception_code) == (True, 1)
    assert memory.writes == []


async def test_rights_are_checked_on_every_request(pki: Pki) -> None:
    """Rights changed while a client is connected apply from its next request on."""
    memory = Recorder()
    async with (
        tls_server(pki, memory) as server,
        pymodbus_tls(pki, server.port, "operator") as (client, connected),
    ):
        assert connected
        assert not (await client.write_register(1, 7)).isError()
        (device,) = server.devices
        server.devices = [
            type(device)(
                on_read=device.on_read,
                on_write=device.on_write,
                unit_ids=device.unit_ids,
                rights={"Operator": Rights.NONE},
            )
        ]
        write = await client.write_register(1, 8)
        read = await client.read_holding_registers(1, count=1)
    assert [(write.exception_code), read.exception_code] == [1, 1]
    assert memory.data[Area.HOLDING_REGISTER][1] == 7


@pytest.mark.parametrize("client", ["expired", "other_ca", None])
async def test_expired_untrusted_and_missing_client_certificates_are_refused(
    pki: Pki, client: str | None
) -> None:
    memory = Recorder()
    async with (
        tls_server(pki, memory) as server,
        pymodbus_tls(pki, server.port, client) as (modbus, connected),
    ):
        if connected:  # TLS 1.3: the client hears of the refusal after its handshake
            with pytest.raises(ModbusException):
                await modbus.read_holding_registers(0, count=1)
        assert await eventually(lambda: server.stats.rejections.get("tls_handshake_failed", 0) >= 1)
        assert server.connections == []
    assert memory.reads == []


async def test_malformed_role_extension_is_refused_not_treated_as_null_role(pki: Pki) -> None:
    memory = Recorder()
    async with (
        tls_server(pki, memory) as server,
        pymodbus_tls(pki, server.port, "bad_role") as (modbus, connected),
    ):
        if connected:
            with pytest.raises(ModbusException):
                await modbus.read_holding_registers(0, count=1)
        assert await eventually(lambda: server.stats.rejections.get("tls_role_invalid", 0) == 1)
    assert memory.reads == []


async def test_plain_modbus_tcp_on_the_tls_port_gets_no_modbus_answer(pki: Pki) -> None:
    memory = Recorder()
    async with tls_server(pki, memory) as server:
        client = await RawClient.connect(server.port)
        await client.send(frame(bytes([3, 0, 0, 0, 1])))
        received = b""
        with contextlib.suppress(ConnectionError):
            async with asyncio.timeout(5):
                while chunk := await client.reader.read(1024):
                    received += chunk
        await client.close()
        assert await eventually(lambda: server.stats.rejections.get("tls_handshake_failed", 0) == 1)
    # nothing, or a TLS alert record (content type 21): never an MBAP response
    assert received == b"" or received[0] == 0x15
    assert memory.reads == []


def _client_hello(pki: Pki) -> bytes:
    """The first flight of a real TLS client, made in memory."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = pki.client_context("operator").wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


async def test_stalled_handshakes_do_not_delay_a_bystander(pki: Pki) -> None:
    """Silent and half-ClientHello clients stay pending while another client is served."""
    memory = Recorder()
    async with tls_server(pki, memory, tls_handshake_timeout=30) as server:
        silent = await RawClient.connect(server.port)
        half = await RawClient.connect(server.port)
        hello = _client_hello(pki)
        await half.send(hello[: len(hello) // 2])
        assert await eventually(lambda: len(server._connections) == 2)
        async with pymodbus_tls(pki, server.port, "viewer") as (client, connected):
            assert connected
            assert (await client.read_holding_registers(42, count=1)).registers == [42]
        # still pending: neither closed nor counted as refused
        assert not await silent.is_closed(timeout=0.05)
        assert not await half.is_closed(timeout=0.05)
        assert server.stats.connections_rejected == 0
        await silent.close()
        await half.close()


async def test_pending_handshakes_are_bounded_and_time_out(pki: Pki) -> None:
    """One handshake slot held by a silent client: the next client waits for it to time out."""
    memory = Recorder()
    async with tls_server(pki, memory, max_tls_handshakes=1, tls_handshake_timeout=1.0) as server:
        silent = await RawClient.connect(server.port)
        assert await eventually(lambda: len(server._connections) == 1)
        async with pymodbus_tls(pki, server.port, "operator") as (client, connected):
            # the server takes this handshake only once the silent one gave its slot up
            assert connected
            assert server.stats.rejections == {"tls_handshake_timeout": 1}
            assert (await client.read_holding_registers(0, count=1)).registers == [0]
        assert await silent.is_closed()


async def test_fifty_concurrent_tls_clients_are_all_served(pki: Pki) -> None:
    memory = Recorder()
    async with tls_server(pki, memory, max_connections=64, max_connections_per_host=None) as server:

        async def one(index: int) -> list[int]:
            async with pymodbus_tls(pki, server.port, "operator") as (client, connected):
                assert connected
                assert not (await client.write_register(index, 1000 + index)).isError()
                return list((await client.read_holding_registers(index, count=1)).registers)

        results = await asyncio.gather(*(one(i) for i in range(50)))
    assert results == [[1000 + i] for i in range(50)]
    assert server.stats.connections_total == 50
    assert server.stats.connections_rejected == 0


def _request(tls: ssl.SSLSocket, pdu: bytes, transaction_id: int) -> bytes:
    tls.sendall(frame(pdu, transaction_id))
    header = _read_exactly(tls, 7)
    _, _, length, _ = MBAP.unpack(header)
    return _read_exactly(tls, length - 1)


def _read_exactly(tls: ssl.SSLSocket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = tls.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _resume(pki: Pki, port: int, version: ssl.TLSVersion) -> tuple[bool, bytes, bytes]:
    """Connect as Viewer, then resume that session: (reused, write answer, read answer)."""
    context = pki.client_context("viewer", minimum_version=version, maximum_version=version)
    read = struct.pack(">BHH", 3, 7, 1)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as first,
    ):
        _request(first, read, 1)  # TLS 1.3: the ticket arrives with the first answer
        session = first.session
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as second,
    ):
        write = _request(second, struct.pack(">BHH", 6, 7, 99), 2)
        return bool(second.session_reused), write, _request(second, read, 3)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
async def test_resumed_session_keeps_its_role(pki: Pki, version: ssl.TLSVersion) -> None:
    memory = Recorder()
    async with tls_server(pki, memory) as server:
        reused, write, read = await asyncio.to_thread(_resume, pki, server.port, version)
    assert reused
    assert write == bytes([0x86, 0x01])  # still the Viewer: write refused
    assert read == bytes([3, 2, 0, 7])
    assert memory.roles == ["Viewer", "Viewer"]
    assert memory.writes == []


def test_server_context_refuses_old_protocols_and_weak_suites(pki: Pki) -> None:
    context = pki.server_context()
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert context.verify_mode is ssl.CERT_REQUIRED
    names = [cipher["name"] for cipher in context.get_ciphers()]
    assert "ECDHE-RSA-AES128-GCM-SHA256" in names
    assert all("GCM" in n or "CHACHA20" in n for n in names)
    assert not [n for n in names if n.endswith(("-SHA", "MD5")) or "NULL" in n]


def test_server_context_loads_no_system_ca(pki: Pki) -> None:
    """Only the given CA is trusted for client certificates (one CA in the store)."""
    assert (
        server_context(pki.server_chain, pki.server_key, pki.root).cert_store_stats()["x509_ca"]
        == 1
    )


async def test_a_client_closing_tls_gets_close_notify_back(pki: Pki) -> None:
    """asyncio's TLS client waits for the server's close_notify before it closes TCP."""
    async with tls_server(pki, Recorder()) as server:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=pki.client_context("operator"), ssl_shutdown_timeout=3
        )
        writer.write(frame(struct.pack(">BHH", 3, 0, 1)))
        assert (await reader.readexactly(11))[7:] == bytes([3, 2, 0, 0])
        writer.close()
        await writer.wait_closed()  # TimeoutError "SSL shutdown timed out" without the answer
        assert await eventually(lambda: server.connections == [])


async def test_tls_client_that_stops_reading_keeps_buffers_bounded_then_gets_every_answer(
    pki: Pki,
) -> None:
    """The plain-TCP limits hold over TLS: 20000 pipelined reads whose answers wait unread."""
    count = 20000
    read = struct.pack(">BHH", 3, 0, 125)
    async with tls_server(pki, Recorder()) as server:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=pki.client_context("operator"), limit=4096
        )
        writer.write(b"".join(frame(read, transaction_id=tid) for tid in range(count)))
        peak = await until_idle(server)
        assert peak < RESPONSE_BUFFER_BOUND
        assert server.stats.counters.requests < count  # the rest waits in TCP
        tids = []
        for _ in range(count):
            header = await asyncio.wait_for(reader.readexactly(7), 5)
            tid, _, length, _ = MBAP.unpack(header)
            await reader.readexactly(length - 1)
            tids.append(tid)
        assert tids == list(range(count))
        writer.close()
