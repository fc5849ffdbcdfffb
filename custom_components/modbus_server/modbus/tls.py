"""Modbus/TCP Security (MB-TCP-Security v36): the server's TLS context and the client's role.

`server_context` builds what the spec asks of a server: TLS 1.2 or newer only (R-01, R-32,
R-34, R-35), a client certificate required and verified up to the given CA (R-07, R-10,
R-44), the server's whole chain sent (the chain file is loaded as given, R-46), and cipher
suites set explicitly: ECDHE with AES-GCM or ChaCha20-Poly1305 over TLS 1.2 (R-14, R-36) and
OpenSSL's TLS 1.3 suites (all AEAD), so no NULL, SHA-1 or MD5 suite can be negotiated
(R-37, R-50, R-51). Python's default list would still negotiate ECDHE-RSA-AES256-SHA.

Left to OpenSSL, because its defaults are what the spec asks: secure renegotiation (RFC 5746
`renegotiation_info` is always sent, legacy renegotiation refused; since OpenSSL 3.0 a client
may not start a renegotiation at all, so a role cannot change on a live connection, R-60);
session resumption (TLS 1.3 tickets, TLS 1.2 session ids in the context's cache, R-42); a
client's maximum fragment length request (RFC 6066, R-57/R-58) is honoured by OpenSSL, but
Python's `ssl` has no call to set one on the server side.

`TlsTransport` runs the TLS layer of a connection from memory BIOs, so every alert OpenSSL
writes (the fatal one of a refused handshake included, R-10/R-44) is sent.

`role_of` reads the role (R-21, R-22, R-65) from the DER of a certificate OpenSSL has already
verified. It is a DER walk of the standard library for that one extension, so the core stays
standard-library only and needs no X.509 package to serve roles.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from os import PathLike
from typing import Any

DEFAULT_TLS_PORT = 802
ROLE_OID = "1.3.6.1.4.1.50316.802.1"
# TLS 1.2 suites (TLS 1.3 ones are OpenSSL's: AES-GCM and ChaCha20-Poly1305, all AEAD).
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

type _Path = str | PathLike[str]

_READ_SIZE = 256 * 1024

_SEQUENCE = 0x30
_OID = 0x06
_BOOLEAN = 0x01
_OCTET_STRING = 0x04
_UTF8_STRING = 0x0C
_EXTENSIONS = 0xA3  # [3] EXPLICIT in TBSCertificate


def server_context(
    certfile: _Path, keyfile: _Path | None, cafile: _Path, *, password: str | None = None
) -> ssl.SSLContext:
    """A server context for Modbus/TCP Security; raises ssl.SSLError/OSError on bad files.

    `certfile` holds the server certificate followed by its intermediates (sent as they are);
    `cafile` the CA(s) whose client certificates are trusted, and nothing else: no system CA
    is loaded, so a certificate from a public CA is refused.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.load_cert_chain(certfile, keyfile, password)
    context.load_verify_locations(cafile)
    return context


class TlsTransport(asyncio.Transport):
    """The plaintext side of a server TLS connection, over a TCP transport, from memory BIOs.

    The connection's protocol stays the TCP transport's protocol and passes what it receives
    through `feed`. Why not `loop.start_tls`: asyncio's SSL protocol closes a failed handshake
    without sending the fatal alert OpenSSL queued for it (MB-TCP-Security R-10/R-44 want the
    alert), and it needs a task per handshake; here a handshake is a few calls inside
    `data_received`, and everything OpenSSL writes (alerts, tickets, key updates) is sent.
    """

    def __init__(self, raw: asyncio.Transport, context: ssl.SSLContext) -> None:
        """Wrap `raw` (not yet read from) for a server-side handshake."""
        super().__init__()
        self.raw = raw
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl_object = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self.handshake_done = False
        self.peer_closed = False  # the client sent close_notify

    def feed(self, data: bytes) -> bytes:
        """Take received TLS bytes; return the plaintext they complete (b"" while handshaking).

        Raises ssl.SSLError when the handshake or a record fails (its alert is sent already).
        A client's close_notify sets `peer_closed` (the plaintext before it is returned).
        """
        self._incoming.write(data)
        try:
            if not self.handshake_done:
                try:
                    self.ssl_object.do_handshake()
                except ssl.SSLWantReadError:
                    return b""
                self.handshake_done = True
            chunks: list[bytes] = []
            while True:
                try:
                    chunk = self.ssl_object.read(_READ_SIZE)
                except ssl.SSLWantReadError:
                    break
                if not chunk:  # close_notify
                    self.peer_closed = True
                    break
                chunks.append(chunk)
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        finally:
            self._send()

    def _send(self) -> None:
        pending = self._outgoing.read()
        if pending:
            self.raw.write(pending)

    # --- asyncio.Transport, as the connection uses it ------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt and send."""
        try:
            self.ssl_object.write(data)
        except ssl.SSLError:
            self.raw.abort()
            return
        self._send()

    def close(self) -> None:
        """Send close_notify after what is buffered, then close the TCP connection."""
        if self.handshake_done and not self.raw.is_closing():
            with contextlib.suppress(ssl.SSLError):  # the client's close_notify: not awaited
                self.ssl_object.unwrap()
            self._send()
        self.raw.close()

    def abort(self) -> None:
        """Drop the TCP connection at once."""
        self.raw.abort()

    def is_closing(self) -> bool:
        """True once the TCP connection is closing."""
        return self.raw.is_closing()

    def pause_reading(self) -> None:
        """Stop reading from the TCP connection."""
        self.raw.pause_reading()

    def resume_reading(self) -> None:
        """Read from the TCP connection again."""
        self.raw.resume_reading()

    def is_reading(self) -> bool:
        """True while the TCP connection is read."""
        return self.raw.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """The TCP connection's limits (buffered ciphertext)."""
        self.raw.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        """Ciphertext buffered in the TCP transport."""
        return self.raw.get_write_buffer_size()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """`ssl_object`, or what the TCP transport knows (peername, socket, ...)."""
        if name == "ssl_object":
            return self.ssl_object
        return self.raw.get_extra_info(name, default)


def role_of(der: bytes) -> str | None:
    """The role in a certificate's extension `ROLE_OID`, or None (the NULL role) without one.

    Raises ValueError when the extension is there but is not one non-empty UTF8String, or
    appears twice: such a client is refused rather than treated as having no role.
    """
    _, cert_start, _ = _expect(der, 0, _SEQUENCE)
    _, tbs_start, tbs_end = _expect(der, cert_start, _SEQUENCE)
    extensions: tuple[int, int] | None = None
    pos = tbs_start
    while pos < tbs_end:
        tag, start, end = _tlv(der, pos, tbs_end)
        if tag == _EXTENSIONS:
            _, seq_start, seq_end = _expect(der, start, _SEQUENCE, end)
            extensions = (seq_start, seq_end)
        pos = end
    if extensions is None:
        return None
    role: str | None = None
    pos, end = extensions
    while pos < end:
        _, ext_start, ext_end = _expect(der, pos, _SEQUENCE, end)
        pos = ext_end
        _, oid_start, oid_end = _expect(der, ext_start, _OID, ext_end)
        if der[oid_start:oid_end] != _ROLE_OID_DER:
            continue
        if role is not None:
            raise ValueError("role extension appears twice")
        tag, value_start, value_end = _tlv(der, oid_end, ext_end)
        if tag == _BOOLEAN:  # critical flag
            tag, value_start, value_end = _tlv(der, value_end, ext_end)
        if tag != _OCTET_STRING or value_end != ext_end:
            raise ValueError("role extension is malformed")
        tag, text_start, text_end = _tlv(der, value_start, value_end)
        if tag != _UTF8_STRING or text_end != value_end or text_start == text_end:
            raise ValueError("role is not one non-empty UTF8String")
        role = der[text_start:text_end].decode("utf-8")
    return role


def encode_oid(dotted: str) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (no tag, no length)."""
    first, second, *rest = (int(arc) for arc in dotted.split("."))
    out = bytearray()
    for arc in (40 * first + second, *rest):
        chunk = [arc & 0x7F]
        high = arc >> 7
        while high:
            chunk.append(0x80 | (high & 0x7F))
            high >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


_ROLE_OID_DER = encode_oid(ROLE_OID)


def _tlv(der: bytes, pos: int, limit: int | None = None) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at `pos`, checked against `limit`."""
    limit = len(der) if limit is None else limit
    if pos + 2 > limit:
        raise ValueError("truncated DER")
    tag, length = der[pos], der[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4 or pos + size > limit:
            raise ValueError("bad DER length")
        length = int.from_bytes(der[pos : pos + size])
        pos += size
    if pos + length > limit:
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _expect(der: bytes, pos: int, tag: int, limit: int | None = None) -> tuple[int, int, int]:
    found = _tlv(der, pos, limit)
    if found[0] != tag:
        raise ValueError(f"DER tag {found[0]:#04x} where {tag:#04x} was expected")
    return found
