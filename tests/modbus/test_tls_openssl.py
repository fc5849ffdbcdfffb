"""The TLS server against `openssl s_client`: protocol versions, suites, client certificates."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from pathlib import Path

import pytest

from ..conftest import require_tool
from .client import frame
from .tls_pki import Pki, Recorder, tls_server
from .tools import eventually, run

READ = frame(struct.pack(">BHH", 3, 10, 2), transaction_id=7)
ANSWER = struct.pack(">HHHBBBHH", 7, 0, 7, 1, 3, 4, 10, 11)
OLD_PROTOCOLS = "DEFAULT@SECLEVEL=0"  # lets this OpenSSL offer TLS 1.0/1.1 at all


async def s_client(pki: Pki, port: int, *args: str, client: str | None = "operator") -> str:
    """Run s_client, send one Modbus read once connected; return stdout (hex) + stderr."""
    command = [require_tool("openssl"), "s_client", "-connect", f"127.0.0.1:{port}"]
    command += ["-CAfile", str(pki.root), "-showcerts", "-tlsextdebug", *args]
    if client is not None:
        command += ["-cert", str(pki.cert(client)), "-key", str(pki.key(client))]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(READ)
    # A refused handshake can end s_client before it reads its input: its output tells.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        await process.stdin.drain()
    # stdin stays open until the answer (or the server's close) came back
    out = b""
    async with asyncio.timeout(10):
        while ANSWER not in out and (chunk := await process.stdout.read(4096)):
            out += chunk
    process.stdin.close()
    rest, err = await asyncio.wait_for(process.communicate(), 10)
    out += rest
    verdict = "ANSWERED" if ANSWER in out else "NO ANSWER"
    return f"{verdict}\n{out.decode(errors='replace')}\n{err.decode()}"


@pytest.mark.parametrize(
    ("args", "protocol", "cipher"),
    [
        (["-tls1_3"], "TLSv1.3", "TLS_AES_256_GCM_SHA384"),
        (["-tls1_2"], "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"),
        (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], "TLSv1.2", None),
        (["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"], "TLSv1.2", None),
    ],
)
async def test_tls_1_2_and_1_3_are_answered(
    pki: Pki, args: list[str], protocol: str, cipher: str | None
) -> None:
    memory = Recorder()
    async with tls_server(pki, memory) as server:
        output = await s_client(pki, server.port, *args)
    assert output.startswith("ANSWERED"), output
    assert f"Protocol  : {protocol}" in output
    assert f"Cipher is {cipher or args[-1]}" in output
    assert memory.roles == ["Operator"]


@pytest.mark.parametrize(
    ("args", "alert"),
    [
        (["-tls1", "-cipher", OLD_PROTOCOLS], "alert protocol version"),
        (["-tls1_1", "-cipher", OLD_PROTOCOLS], "alert protocol version"),
        (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"], "alert handshake failure"),
        (["-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA384"], "alert handshake failure"),  # CBC
        (["-tls1_2", "-cipher", "AES128-GCM-SHA256"], "alert handshake failure"),  # no ECDHE
        (["-tls1_2", "-cipher", "ECDHE-RSA-NULL-SHA@SECLEVEL=0"], "alert handshake failure"),
    ],
)
async def test_old_protocols_and_weak_suites_are_refused_with_an_alert(
    pki: Pki, args: list[str], alert: str
) -> None:
    memory = Recorder()
    async with tls_server(pki, memory) as server:
        output = await s_client(pki, server.port, *args)
        # the server saw the ClientHello and refused it (not the client declining to try)
        assert await eventually(lambda: server.stats.rejections == {"tls_handshake_failed": 1})
    assert output.startswith("NO ANSWER"), output
    assert "Cipher is (NONE)" in output
    assert alert in output  # sent by the server: a fatal alert, then the close
    assert memory.reads == []


@pytest.mark.parametrize(
    ("version", "client", "alert"),
    [
        ("-tls1_2", None, "alert handshake failure"),
        ("-tls1_3", None, "alert certificate required"),
        ("-tls1_2", "expired", "alert certificate expired"),
        ("-tls1_3", "expired", "alert certificate expired"),
        ("-tls1_2", "other_ca", "alert unknown ca"),
        ("-tls1_3", "other_ca", "alert unknown ca"),
    ],
)
async def test_missing_expired_and_untrusted_client_certificates_get_a_fatal_alert(
    pki: Pki, version: str, client: str | None, alert: str
) -> None:
    memory = Recorder()
    async with tls_server(pki, memory) as server:
        output = await s_client(pki, server.port, version, client=client)
        assert await eventually(lambda: server.stats.rejections == {"tls_handshake_failed": 1})
    assert output.startswith("NO ANSWER"), output
    assert alert in output
    assert memory.reads == []


async def test_server_sends_its_whole_chain(pki: Pki) -> None:
    """The client trusts only the root: the intermediate must come from the server (R-46)."""
    async with tls_server(pki, Recorder()) as server:
        output = await s_client(pki, server.port, "-tls1_3")
    assert " 0 s:CN = modbus-server" in output
    assert " 1 s:CN = Test Intermediate CA" in output
    assert "Verify return code: 0 (ok)" in output


async def test_secure_renegotiation_and_max_fragment_length_512(pki: Pki) -> None:
    """RFC 5746 is announced (R-60); a client's 512-byte fragment request is granted (R-57)."""
    async with tls_server(pki, Recorder()) as server:
        output = await s_client(pki, server.port, "-tls1_2", "-maxfraglen", "512")
    assert output.startswith("ANSWERED"), output
    assert "Secure Renegotiation IS supported" in output
    # the server's max_fragment_length extension, code 1 = 2^9 bytes
    assert 'TLS server extension "max fragment length" (id=1), len=1\n0000 - 01' in output


async def test_a_client_certificate_made_with_the_openssl_cli_carries_its_role(
    pki: Pki, tmp_path: Path
) -> None:
    """The role extension as the README shows it for openssl: `ASN1:UTF8String:<role>`."""
    openssl = require_tool("openssl")
    key, csr, cert, ext = (tmp_path / name for name in ("c.key", "c.csr", "c.pem", "ext.cnf"))
    ext.write_text(
        "extendedKeyUsage = clientAuth\n1.3.6.1.4.1.50316.802.1 = ASN1:UTF8String:Viewer\n"
    )
    root_key = str(pki.directory / "root.key")
    for argv in (
        ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-subj", "/CN=openssl-viewer", "-out", str(csr)],
        ["x509", "-req", "-in", str(csr), "-CA", str(pki.root), "-CAkey", root_key,
         "-days", "30", "-extfile", str(ext), "-out", str(cert)],
    ):  # fmt: skip
        code, out = await run(openssl, *argv)
        assert code == 0, out
    (pki.directory / "openssl_viewer.pem").write_bytes(cert.read_bytes())
    (pki.directory / "openssl_viewer.key").write_bytes(key.read_bytes())
    memory = Recorder()
    async with tls_server(pki, memory) as server:
        output = await s_client(pki, server.port, "-tls1_3", client="openssl_viewer")
    assert output.startswith("ANSWERED"), output
    assert memory.roles == ["Viewer"]


async def test_client_initiated_renegotiation_is_refused(pki: Pki) -> None:
    """So a role can never change on a live connection (R-60: only secure renegotiation)."""
    memory = Recorder()
    async with tls_server(pki, memory) as server:
        command = [require_tool("openssl"), "s_client", "-connect", f"127.0.0.1:{server.port}"]
        command += ["-CAfile", str(pki.root), "-tls1_2"]
        command += ["-cert", str(pki.cert("operator")), "-key", str(pki.key("operator"))]
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdin is not None
        assert await eventually(lambda: server.connections != [])
        process.stdin.write(b"R\n")  # s_client: renegotiate
        await process.stdin.drain()
        out, _ = await asyncio.wait_for(process.communicate(), 10)
    output = out.decode(errors="replace")
    assert "RENEGOTIATING" in output
    assert "no renegotiation" in output
