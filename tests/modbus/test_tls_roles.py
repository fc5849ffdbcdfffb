"""Roles from certificate DER (the stdlib walk) and rights outside TLS (plain TCP, broadcast)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from custom_components.modbus_server.certs import CertificateAuthority, utf8_string
from custom_components.modbus_server.modbus import Area, ClientInfo, Device, Rights, Server
from custom_components.modbus_server.modbus.tls import ROLE_OID, role_of

from .client import Memory, RawClient


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("Roles CA")


def der_with_role_value(ca: CertificateAuthority, value: bytes, *, critical: bool = False) -> bytes:
    base = ca.issue_client("x", None)
    builder = x509.CertificateBuilder(
        issuer_name=base.certificate.issuer,
        subject_name=base.certificate.subject,
        public_key=base.key.public_key(),
        serial_number=1,
        not_valid_before=base.certificate.not_valid_before_utc,
        not_valid_after=base.certificate.not_valid_after_utc,
    ).add_extension(
        x509.UnrecognizedExtension(x509.ObjectIdentifier(ROLE_OID), value), critical=critical
    )
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(Encoding.DER)


@pytest.mark.parametrize("role", ["Operator", "Bediener-Ä", "r" * 300])
def test_role_is_read_from_the_certificate_extension(ca: CertificateAuthority, role: str) -> None:
    der = ca.issue_client("plc", role).certificate.public_bytes(Encoding.DER)
    assert role_of(der) == role


def test_certificates_without_the_extension_have_the_null_role(ca: CertificateAuthority) -> None:
    assert role_of(ca.issue_client("plc", None).certificate.public_bytes(Encoding.DER)) is None
    assert role_of(ca.certificate.public_bytes(Encoding.DER)) is None


def test_a_critical_role_extension_is_read_too(ca: CertificateAuthority) -> None:
    assert role_of(der_with_role_value(ca, utf8_string("Viewer"), critical=True)) == "Viewer"


@pytest.mark.parametrize(
    "value",
    [
        b"\x04\x06Viewer",  # OCTET STRING, not UTF8String
        b"\x13\x06Viewer",  # PrintableString
        b"\x0c\x00",  # empty
        utf8_string("Viewer") + utf8_string("Operator"),  # two roles
        b"\x0c\x09Viewer",  # length beyond the value
    ],
)
def test_malformed_role_values_raise(ca: CertificateAuthority, value: bytes) -> None:
    with pytest.raises(ValueError, match=r"role|DER"):
        role_of(der_with_role_value(ca, value))


@pytest.mark.parametrize("der", [b"", b"\x30", b"\x30\x05\x30\x03", b"\x31\x00", b"\x30\x84"])
def test_truncated_or_foreign_der_raises(der: bytes) -> None:
    with pytest.raises(ValueError, match="DER"):
        role_of(der)


def test_pkcs12_bundle_holds_certificate_key_and_ca(ca: CertificateAuthority) -> None:
    issued = ca.issue_client("plc", "Operator", days=30)
    bundle = pkcs12.load_pkcs12(ca.pkcs12(issued, "plc", b"secret"), b"secret")
    assert bundle.cert is not None
    assert bundle.cert.certificate == issued.certificate
    assert [c.certificate for c in bundle.additional_certs] == [ca.certificate]
    assert issued.certificate.not_valid_after_utc > datetime.now(UTC)
    assert b"ENCRYPTED" in issued.key_pem(b"secret")


async def test_plain_tcp_clients_have_the_null_role() -> None:
    """Rights apply on every transport: a plain TCP client is the NULL role."""
    memory = Memory()
    device = Device(on_read=memory.on_read, on_write=memory.on_write, rights={None: Rights.READ})
    async with Server(host="127.0.0.1", port=0, devices=[device]) as server:
        client = await RawClient.connect(server.port)
        assert await client.request(struct.pack(">BHH", 3, 4, 1)) == bytes([3, 2, 0, 4])
        assert await client.request(struct.pack(">BHH", 6, 4, 9)) == bytes([0x86, 0x01])
        await client.close()
    assert memory.writes == []


async def test_broadcast_skips_devices_whose_rights_refuse_the_write() -> None:
    open_memory, guarded_memory = Memory(), Memory()
    server = Server(
        devices=[
            Device(
                on_read=open_memory.on_read, on_write=open_memory.on_write, unit_ids=frozenset({1})
            ),
            Device(
                on_read=guarded_memory.on_read,
                on_write=guarded_memory.on_write,
                unit_ids=frozenset({2}),
                rights={None: Rights.READ},
            ),
        ]
    )
    client = ClientInfo("serial", 0, datetime.now(UTC), 1)
    await server.broadcast(client, struct.pack(">BHH", 6, 5, 55))
    assert open_memory.writes == [(Area.HOLDING_REGISTER, 5, [55])]
    assert guarded_memory.writes == []
