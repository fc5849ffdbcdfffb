"""The PEM text of a TLS server entry: checked per form field, described for diagnostics.

The entry stores PEM text (certificate chain, private key, trusted client CA). The form takes
either the pasted PEM or a path to a file (relative paths from the configuration folder),
and says on the field what is wrong: no certificate, a key that is encrypted or does not
belong to the certificate, a CA that does not parse. Nothing here logs or returns a key.
Uses `cryptography`, which Home Assistant ships.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

PEM_BEGIN = "-----BEGIN"
MAX_PEM_CHARS = 256 * 1024


class PemError(ValueError):
    """A field's PEM is unusable; `key` is the form's error key."""

    def __init__(self, key: str) -> None:
        """Carry the translation key of the field error."""
        super().__init__(key)
        self.key = key


def pem_text(value: str, config_dir: str) -> str:
    """The PEM of a field: the pasted text, or the file a path names (blocking: executor).

    Raises PemError("pem_file_missing") when the path cannot be read.
    """
    text = value.strip()
    if not text or PEM_BEGIN in text:
        return text + "\n" if text else ""
    path = text if os.path.isabs(text) else os.path.join(config_dir, text)
    try:
        with open(path, encoding="utf-8") as file:
            content = file.read(MAX_PEM_CHARS + 1)
    except (OSError, UnicodeDecodeError) as err:
        raise PemError("pem_file_missing") from err
    return content.strip() + "\n"


def _certificates(pem: str, error: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as err:
        raise PemError(error) from err
    if not certificates:
        raise PemError(error)
    return certificates


def check_pem(certificate: str, key: str, client_ca: str) -> dict[str, str]:
    """Field -> error key for what does not load; empty when the three belong together.

    Fields: "certificate" (no certificate in it), "key" (no key, encrypted, or not the
    certificate's key), "client_ca" (no certificate in it).
    """
    errors: dict[str, str] = {}
    server: x509.Certificate | None = None
    try:
        server = _certificates(certificate, "invalid_certificate")[0]
    except PemError as err:
        errors["certificate"] = err.key
    try:
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except TypeError:  # encrypted: Home Assistant has no place to keep its password
        errors["key"] = "key_encrypted"
    except ValueError, UnsupportedAlgorithm:
        errors["key"] = "invalid_key"
    else:
        if server is not None and _public(private.public_key()) != _public(server.public_key()):
            errors["key"] = "key_mismatch"
    try:
        _certificates(client_ca, "invalid_client_ca")
    except PemError as err:
        errors["client_ca"] = err.key
    return errors


def _public(key: object) -> bytes:
    public_bytes = getattr(key, "public_bytes", None)
    if public_bytes is None:
        return b""
    return bytes(
        public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    """What diagnostics show of a certificate."""

    subject: str
    issuer: str
    not_after: str

    def as_dict(self) -> dict[str, str]:
        """Plain data."""
        return {"subject": self.subject, "issuer": self.issuer, "not_after": self.not_after}


def describe_certificates(pem: str) -> list[dict[str, str]] | str:
    """Subjects, issuers and expiry of the certificates in `pem` (a note when none parse)."""
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        return "no certificate could be read"
    return [
        CertificateSummary(
            cert.subject.rfc4514_string(),
            cert.issuer.rfc4514_string(),
            cert.not_valid_after_utc.isoformat(),
        ).as_dict()
        for cert in certificates
    ]
