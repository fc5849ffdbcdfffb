"""The integration's own small PKI: a CA and server certificate for a TLS server, client files.

For users without a PKI. The server form generates a CA and a server certificate into the
entry's TLS fields and keeps the CA's key in the entry (`CONF_TLS_CA_KEY`, redacted in
diagnostics, never logged) so that the "client certificate" flow can issue more. Client
files are written under `<config>/modbus_server/<entry_id>/` (mode 0600) and downloaded through
`CertificateDownloadView`, which needs a logged-in user or a signed link: the flow's result
offers signed links that expire after an hour. Blocking work (key generation, files) runs in
the executor; these functions are plain and do not touch the loop.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Final

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView

from .certs import CertificateAuthority, Issued
from .const import (
    CONF_TLS_CA_KEY,
    CONF_TLS_CERTIFICATE,
    CONF_TLS_CLIENT_CA,
    CONF_TLS_KEY,
    DOMAIN,
)

DOWNLOAD_URL: Final = "/api/modbus_server/certificates/{entry_id}/{filename}"
LINK_LIFETIME: Final = timedelta(hours=1)
SERVER_DAYS: Final = 825
"""Server certificates: the most days clients such as browsers and Apple's accept."""
CA_DAYS: Final = 3650
_FILENAME: Final = re.compile(r"^[A-Za-z0-9_.-]+\.(pem|p12)$")
_SAFE: Final = re.compile(r"[^A-Za-z0-9_.-]+")


def generate_server_pki(title: str, hosts: list[str]) -> dict[str, str]:
    """A new CA and a server certificate it signed, as the entry's TLS fields (PEM text).

    The CA signs the clients too: it is the trusted client CA, and its key is kept to issue
    client certificates later.
    """
    ca = CertificateAuthority.create(f"{title} CA", days=CA_DAYS)
    server = ca.issue_server(hosts[0] if hosts else title, hosts, days=SERVER_DAYS)
    return {
        CONF_TLS_CERTIFICATE: server.certificate_pem.decode(),
        CONF_TLS_KEY: server.key_pem().decode(),
        CONF_TLS_CLIENT_CA: ca.certificate_pem.decode(),
        CONF_TLS_CA_KEY: ca.key_pem().decode(),
    }


def server_hosts(bind_address: str) -> list[str]:
    """The names and addresses a generated server certificate is valid for.

    The host's name (and `<name>.local`, mDNS), `homeassistant.local`, the bound address or
    the host's addresses when bound to all, and localhost.
    """
    hosts: list[str] = []
    name = socket.gethostname()
    for host in (name, f"{name}.local", "homeassistant.local", "homeassistant", "localhost"):
        if host and host not in hosts:
            hosts.append(host)
    addresses: list[str] = []
    if bind_address not in ("", "all", "0.0.0.0", "::"):
        addresses.append(bind_address)
    else:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except OSError:
            infos = []
        addresses += [str(info[4][0]) for info in infos]
    for address in [*addresses, "127.0.0.1", "::1"]:
        if address not in hosts:
            hosts.append(address)
    return hosts


def certificate_expiry(pem: str) -> datetime:
    """When the first certificate of a PEM chain (the server's own) expires (UTC)."""
    return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc


@dataclass(frozen=True, slots=True)
class ClientFiles:
    """What the client certificate flow wrote, and the password of its key and bundle."""

    subject: str
    expires: datetime
    password: str
    files: tuple[str, ...]  # file names in the entry's folder: certificate, key, bundle, CA


def entry_folder(hass: HomeAssistant, entry_id: str) -> Path:
    """Where an entry's issued files live."""
    return Path(hass.config.path(DOMAIN, entry_id))


def issue_client_files(
    folder: Path,
    ca_pem: str,
    ca_key_pem: str,
    *,
    name: str,
    role: str | None,
    days: int,
    password: str | None,
) -> ClientFiles:
    """Issue a client certificate (its role in the spec's extension) and write its files.

    The PEM key and the PKCS#12 bundle are encrypted with `password` (a generated one when
    None). Files of an earlier certificate of the same name are replaced.
    """
    key = serialization.load_pem_private_key(ca_key_pem.encode(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("the CA key is neither EC nor RSA")
    ca = CertificateAuthority(x509.load_pem_x509_certificate(ca_pem.encode()), key)
    password = password or secrets.token_urlsafe(12)
    issued: Issued = ca.issue_client(name, role, days=days)
    stem = _SAFE.sub("_", name).strip("._") or "client"
    contents = {
        f"{stem}.crt.pem": issued.certificate_pem,
        f"{stem}.key.pem": issued.key_pem(password.encode()),
        f"{stem}.p12": ca.pkcs12(issued, name, password.encode()),
        "ca.pem": ca.certificate_pem,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for filename, content in contents.items():
        path = folder / filename
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
    return ClientFiles(
        subject=issued.certificate.subject.rfc4514_string(),
        expires=issued.certificate.not_valid_after_utc,
        password=password,
        files=tuple(contents),
    )


def download_links(hass: HomeAssistant, entry_id: str, files: tuple[str, ...]) -> str:
    """Markdown links to the files, signed for the current user and valid for an hour."""
    links = []
    for filename in files:
        path = async_sign_path(
            hass, DOWNLOAD_URL.format(entry_id=entry_id, filename=filename), LINK_LIFETIME
        )
        links.append(f"[{filename}]({path})")
    return " · ".join(links)


class CertificateDownloadView(HomeAssistantView):
    """An issued file of a server entry, for a logged-in user or a signed link."""

    url = DOWNLOAD_URL
    name = "api:modbus_server:certificates"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str, filename: str) -> web.StreamResponse:
        """The file as an attachment; 404 for an unknown entry or file name."""
        hass: HomeAssistant = request.app["hass"]
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN or not _FILENAME.match(filename):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        path = entry_folder(hass, entry_id) / filename
        if not await hass.async_add_executor_job(path.is_file):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        content = await hass.async_add_executor_job(path.read_bytes)
        kind = "application/x-pkcs12" if filename.endswith(".p12") else "application/x-pem-file"
        return web.Response(
            body=content,
            content_type=kind,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
