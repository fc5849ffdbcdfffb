"""A serial line for tests: two ptys joined by socat, and a raw master on one end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import termios
import tty
from collections.abc import AsyncIterator

from custom_components.modbus_server.modbus.framing import rtu

from ..conftest import require_tool


@contextlib.asynccontextmanager
async def socat_pair(link: str | None = None) -> AsyncIterator[tuple[str, str]]:
    """Yield (slave_end, master_end) pty paths, joined like a two-node serial line.

    socat loses the first bytes written towards a pty nobody has opened yet, so the master
    end is held open (never read) for as long as the pair lives. `link` names a symlink to
    the slave end, which a restarted pair can take over.
    """
    socat = require_tool("socat")
    first = f"pty,raw,echo=0,link={link}" if link else "pty,raw,echo=0"
    process = await asyncio.create_subprocess_exec(
        socat, "-d", "-d", first, "pty,raw,echo=0", stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    paths: list[str] = []
    while len(paths) < 2:
        line = await asyncio.wait_for(process.stderr.readline(), 5)
        assert line, "socat exited before it opened both ptys"
        if match := re.search(rb"PTY is (\S+)", line):
            paths.append(match.group(1).decode())
    keep_open = os.open(paths[1], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        yield (link or paths[0]), paths[1]
    finally:
        os.close(keep_open)
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await process.wait()


class RawLine:
    """The master's end of the line: exact bytes out, whatever comes back in."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        termios.tcflush(self.fd, termios.TCIOFLUSH)
        self._buffer = b""
        self._waiter: asyncio.Future[None] | None = None
        self.first_byte_at = 0.0
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        with contextlib.suppress(BlockingIOError):
            data = os.read(self.fd, 4096)
            if data:
                if not self._buffer:
                    self.first_byte_at = asyncio.get_running_loop().time()
                self._buffer += data
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)

    def write(self, data: bytes) -> float:
        """Write all of `data`; return the loop time just after the last byte left."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        return asyncio.get_running_loop().time()

    async def read(self, count: int, timeout: float = 2.0) -> bytes:
        """Up to `count` bytes: fewer only when the timeout passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._buffer) < count and loop.time() < deadline:
            self._waiter = loop.create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._waiter, deadline - loop.time())
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    async def request(self, unit_id: int, pdu: bytes, response_length: int) -> tuple[int, bytes]:
        """Send one request frame, return the decoded (unit, pdu) of its answer."""
        self.write(rtu.encode_frame(unit_id, pdu))
        frame = await self.read(response_length)
        assert len(frame) == response_length, f"answer {frame.hex(' ')} is short"
        return rtu.decode_frame(frame)

    async def silent(self, timeout: float = 0.3) -> bool:
        """True when nothing arrives within `timeout`."""
        return await self.read(1, timeout) == b""

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.fd)
        os.close(self.fd)
