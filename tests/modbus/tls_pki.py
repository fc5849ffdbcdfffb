"""A test PKI written to files: root CA, intermediate, server chain, clients of every kind."""

from __future__ import annotations

import contextlib
import datetime
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pymodbus.client import AsyncModbusTlsClient

from custom_components.modbus_server.certs import CertificateAuthority, Issued, chain_pem
from custom_components.modbus_server.modbus import Area, Device, Request, Rights, Server
from custom_components.modbus_server.modbus.tls import ROLE_OID, server_context

from .client import Memory

RIGHTS = {"Operator": Rights.READ_WRITE, "Viewer": Rights.READ, None: Rights.READ}
CLIENTS = ("operator", "viewer", "norole", "guest", "expired", "other_ca", "bad_role")


@dataclass(frozen=True)
class Pki:
    """Paths of the files a server and its clients load."""

    root: Path  # the CA clients and server trust
    server_chain: Path  # server certificate + intermediate
    server_key: Path
    directory: Path

    def cert(self, client: str) -> Path:
        return self.directory / f"{client}.pem"

    def key(self, client: str) -> Path:
        return self.directory / f"{client}.key"

    def server_context(self) -> ssl.SSLContext:
        return server_context(self.server_chain, self.server_key, self.root)

    def client_context(self, client: str | None, **versions: ssl.TLSVersion) -> ssl.SSLContext:
        """A client context trusting the root, with `client`'s certificate (None: none)."""
        context = ssl.create_default_context(cafile=self.root)
        if client is not None:
            context.load_cert_chain(self.cert(client), self.key(client))
        for name, version in versions.items():
            setattr(context, name, version)
        return context


def make_pki(directory: Path) -> Pki:
    root = CertificateAuthority.create("Test Root CA")
    intermediate = root.issue_ca("Test Intermediate CA")
    server = intermediate.issue_server("modbus-server", ["127.0.0.1", "localhost"], key="rsa")
    other = CertificateAuthority.create("Other CA")
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=400)
    clients: dict[str, Issued] = {
        "operator": root.issue_client("plc-operator", "Operator"),
        "viewer": root.issue_client("scada-viewer", "Viewer"),
        "norole": root.issue_client("no-role", None),
        "guest": root.issue_client("guest", "Guest"),
        "expired": root.issue_client("expired", "Operator", days=30, not_before=long_ago),
        "other_ca": other.issue_client("stranger", "Operator"),
        "bad_role": _client_with_extension(root, b"\x04\x08Operator"),  # OCTET STRING
    }
    (directory / "root.pem").write_bytes(root.certificate_pem)
    (directory / "root.key").write_bytes(root.key_pem())  # to sign with openssl x509
    (directory / "server.pem").write_bytes(chain_pem(server, intermediate))
    (directory / "server.key").write_bytes(server.key_pem())
    for name, issued in clients.items():
        (directory / f"{name}.pem").write_bytes(issued.certificate_pem)
        (directory / f"{name}.key").write_bytes(issued.key_pem())
    return Pki(
        directory / "root.pem", directory / "server.pem", directory / "server.key", directory
    )


def _client_with_extension(ca: CertificateAuthority, value: bytes) -> Issued:
    """A client certificate whose role extension holds `value` as given (to test bad ones)."""
    base = ca.issue_client("bad-role", None)
    builder = x509.CertificateBuilder(
        issuer_name=base.certificate.issuer,
        subject_name=base.certificate.subject,
        public_key=base.key.public_key(),
        serial_number=x509.random_serial_number(),
        not_valid_before=base.certificate.not_valid_before_utc,
        not_valid_after=base.certificate.not_valid_after_utc,
        extensions=list(base.certificate.extensions),
    ).add_extension(
        x509.UnrecognizedExtension(x509.ObjectIdentifier(ROLE_OID), value), critical=False
    )
    return Issued(builder.sign(ca.key, hashes.SHA256()), base.key)


class Recorder(Memory):
    """Memory that also records the client role of every callback."""

    def __init__(self) -> None:
        super().__init__()
        self.roles: list[str | None] = []

    def on_read(self, request: Request, area: Area, address: int, count: int) -> list[int]:
        self.roles.append(request.client.role)
        return super().on_read(request, area, address, count)


def tls_server(
    pki: Pki, memory: Memory, *, rights: Mapping[str | None, Rights] = RIGHTS, **kwargs: Any
) -> Server:
    """A TLS server on a free port with one device (unit 1) whose rights are `RIGHTS`."""
    device = Device(
        on_read=memory.on_read, on_write=memory.on_write, unit_ids=frozenset({1}), rights=rights
    )
    kwargs.setdefault("host", "127.0.0.1")
    kwargs.setdefault("port", 0)
    return Server(devices=[device], tls=pki.server_context(), **kwargs)


@contextlib.asynccontextmanager
async def pymodbus_tls(
    pki: Pki, port: int, client: str | None
) -> AsyncIterator[tuple[AsyncModbusTlsClient, bool]]:
    """pymodbus's TLS client with `client`'s certificate; yields (client, connected)."""
    modbus = AsyncModbusTlsClient(
        "127.0.0.1",
        port=port,
        sslctx=pki.client_context(client),
        timeout=2,
        retries=0,
        reconnect_delay=0,
    )
    connected = await modbus.connect()
    try:
        yield modbus, connected
    finally:
        modbus.close()
