"""Certificates for Modbus/TCP Security, for users without a PKI: a CA, servers, clients.

Client certificates carry their role in the spec's extension (`modbus.tls.ROLE_OID`, one
UTF8String, non-critical so any TLS stack accepts it). Keys are EC P-256 by default (fast
handshakes, small certificates) or RSA 2048 (`key="rsa"`, for TLS_ECDHE_RSA_* suites, which
the spec makes mandatory for RSA servers). Uses `cryptography`, which Home Assistant ships;
the protocol core reads roles without it.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .modbus.tls import ROLE_OID

type KeyType = Literal["ec", "rsa"]
type PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def certificate_pem(self) -> bytes:
        """The certificate, PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, password: bytes | None = None) -> bytes:
        """The private key, PKCS#8 PEM, encrypted when a password is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )


class CertificateAuthority(Issued):
    """A CA that issues server, client and intermediate CA certificates."""

    @classmethod
    def create(
        cls, common_name: str = "Modbus Server CA", *, days: int = 3650, key: KeyType = "ec"
    ) -> CertificateAuthority:
        """A new self-signed root CA."""
        private_key = _new_key(key)
        name = _name(common_name)
        builder = _ca_builder(name, name, private_key, days)
        return cls(_sign(builder, private_key), private_key)

    def issue_ca(
        self, common_name: str, *, days: int = 3650, key: KeyType = "ec"
    ) -> CertificateAuthority:
        """An intermediate CA signed by this one."""
        private_key = _new_key(key)
        builder = _ca_builder(_name(common_name), self.certificate.subject, private_key, days)
        return CertificateAuthority(self._sign(builder), private_key)

    def issue_server(
        self,
        common_name: str,
        hosts: list[str],
        *,
        days: int = 825,
        key: KeyType = "ec",
    ) -> Issued:
        """A server certificate for `hosts` (DNS names or IP addresses)."""
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        private_key = _new_key(key)
        builder = self._leaf(common_name, private_key, days, ExtendedKeyUsageOID.SERVER_AUTH)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Issued(self._sign(builder), private_key)

    def issue_client(
        self,
        common_name: str,
        role: str | None,
        *,
        days: int = 825,
        key: KeyType = "ec",
        not_before: datetime.datetime | None = None,
    ) -> Issued:
        """A client certificate with `role` (None: no role extension, the NULL role)."""
        private_key = _new_key(key)
        builder = self._leaf(
            common_name, private_key, days, ExtendedKeyUsageOID.CLIENT_AUTH, not_before
        )
        if role is not None:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier(ROLE_OID), utf8_string(role)),
                critical=False,
            )
        return Issued(self._sign(builder), private_key)

    def pkcs12(self, issued: Issued, name: str, password: bytes | None = None) -> bytes:
        """`issued` with its key and this CA as a PKCS#12 bundle (what most clients import)."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(
            name.encode(), issued.key, issued.certificate, [self.certificate], encryption
        )

    def _leaf(
        self,
        common_name: str,
        private_key: PrivateKey,
        days: int,
        usage: x509.ObjectIdentifier,
        not_before: datetime.datetime | None = None,
    ) -> x509.CertificateBuilder:
        start = not_before or datetime.datetime.now(datetime.UTC) - _DAY
        return (
            _builder(_name(common_name), self.certificate.subject, private_key, start, days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=isinstance(private_key, rsa.RSAPrivateKey),
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )

    def _sign(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value),
            critical=False,
        )
        return _sign(builder, self.key)


def utf8_string(text: str) -> bytes:
    """DER of an ASN.1 UTF8String."""
    data = text.encode()
    size = len(data)
    if size < 0x80:
        length = bytes([size])
    else:
        octets = size.to_bytes((size.bit_length() + 7) // 8)
        length = bytes([0x80 | len(octets)]) + octets
    return b"\x0c" + length + data


def chain_pem(*certificates: Issued) -> bytes:
    """Certificates concatenated as PEM: a leaf then its intermediates (a server's chain)."""
    return b"".join(issued.certificate_pem for issued in certificates)


def _new_key(key: KeyType) -> PrivateKey:
    if key == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    private_key: PrivateKey,
    not_before: datetime.datetime,
    days: int,
) -> x509.CertificateBuilder:
    public_key = private_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + days * _DAY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_builder(
    subject: x509.Name, issuer: x509.Name, private_key: PrivateKey, days: int
) -> x509.CertificateBuilder:
    start = datetime.datetime.now(datetime.UTC) - _DAY
    return (
        _builder(subject, issuer, private_key, start, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    return builder.sign(key, hashes.SHA256())
