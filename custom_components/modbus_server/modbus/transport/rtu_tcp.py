"""RTU frames in a TCP stream: what serial-to-Ethernet gateways (EW11-style) carry.

The gateway puts the RS485 bus's bytes into TCP unchanged (unit id, PDU, CRC; no MBAP
header), so the bus's master reaches us through it. Two ways round: the gateway connects
to us (`RtuOverTcpListener`), or it listens and we dial it (`RtuOverTcpDialer`, which
reconnects with a growing delay and shows its state for diagnostics). Either way the
requests are served like on a serial line (see `rtu_link`), minus the timing: TCP keeps
no silences, so every segment may start a frame and answers leave at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ..lifecycle import StartStop
from ..server import Server
from ..stats import ClientInfo, Counters, LineCounters
from .rtu_link import RtuLink

_LOGGER = logging.getLogger(__name__)
TRANSPORT = "rtu-over-tcp"
DEFAULT_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
_STABLE_AFTER = 10.0  # a connection that lasted this long starts the backoff afresh
type _Lost = asyncio.Future[Exception | None]


class _RtuStream(asyncio.Protocol):
    """One TCP connection carrying RTU frames."""

    def __init__(
        self,
        server: Server,
        line: LineCounters,
        connection_id: int,
        on_lost: Callable[[_RtuStream, Exception | None], None],
        admit: Callable[[_RtuStream], bool] | None = None,
    ) -> None:
        self._server = server
        self._line = line
        self._on_lost = on_lost
        self._admit = admit
        self.info = ClientInfo("", 0, datetime.now(UTC), connection_id, transport=TRANSPORT)
        self.transport: asyncio.Transport | None = None
        self.link: RtuLink | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername") or ("", 0)
        self.info.host, self.info.port = str(peer[0]), int(peer[1])
        if self._admit is not None and not self._admit(self):
            transport.abort()
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:  # a gateway that vanished is noticed by keepalive probes
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.transport = transport
        self.link = RtuLink(self._server, self.info, transport.write, counters=self._line)

    def data_received(self, data: bytes) -> None:
        if self.link is not None:
            self.link.data_received(data, self._loop.time(), after_silence=True)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.link is not None:
            self.link.close()
        self.transport = None
        self._on_lost(self, exc)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class RtuOverTcpListener(StartStop):
    """Listens for gateways that connect and forward an RTU master's requests."""

    def __init__(
        self,
        server: Server,
        host: str | Sequence[str] | None = None,
        port: int = 502,
        *,
        max_connections: int = 8,
    ) -> None:
        """Configure; nothing is bound until `start()`."""
        self.server = server
        self._host = host
        self._port = port
        self.max_connections = max_connections
        self.line = LineCounters()
        self._listener: asyncio.Server | None = None
        self._streams: set[_RtuStream] = set()
        self._next_id = 1
        self.connections_rejected = 0
        self._accepted = 0
        self.closed_counters = Counters()  # of the connections that ended (for totals)

    async def start(self) -> None:
        """Bind and listen (OSError when the port cannot be bound)."""
        if self._listener is not None:
            return
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            self._accept, host=self._host, port=self._port, reuse_address=True
        )
        self._port = self._listener.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every gateway connection."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.close()
        for stream in list(self._streams):
            stream.close()
        await listener.wait_closed()

    @property
    def port(self) -> int:
        """The bound port (after `start()`), or the configured one."""
        return self._port

    @property
    def connections_total(self) -> int:
        """Gateway connections accepted since start."""
        return self._accepted

    @property
    def connections(self) -> list[ClientInfo]:
        """The gateways connected now, oldest first."""
        return sorted((s.info for s in self._streams), key=lambda info: info.connection_id)

    def diagnostics(self) -> dict[str, object]:
        """Connections and counters, as plain data."""
        return {
            "transport": TRANSPORT,
            "role": "listening",
            "port": self._port,
            "connections": [info.as_dict() for info in self.connections],
            "connections_rejected": self.connections_rejected,
            **self.line.as_dict(),
        }

    def _accept(self) -> asyncio.Protocol:
        stream = _RtuStream(self.server, self.line, self._next_id, self._forget, self._admit)
        self._next_id += 1
        return stream

    def _admit(self, stream: _RtuStream) -> bool:
        if not self.server.allows(stream.info.host) or len(self._streams) >= self.max_connections:
            self.connections_rejected += 1
            _LOGGER.info("Refused RTU-over-TCP connection from %s", stream.info.host)
            return False
        self._streams.add(stream)
        self._accepted += 1
        return True

    def _forget(self, stream: _RtuStream, exc: Exception | None) -> None:
        if stream in self._streams:
            self._streams.discard(stream)
            self.closed_counters.add(stream.info.counters)


class RtuOverTcpDialer(StartStop):
    """Dials a gateway's TCP server and serves the RTU master behind it, reconnecting.

    `state` is "connecting", "connected" or "disconnected" (waiting to retry), with
    `last_error` (kept after a reconnect, to show why the last connection ended),
    `connected_since` and `connects` for diagnostics. After a failure the
    next attempt waits the next step of `backoff` (the last repeats); a connection that
    lasted `_STABLE_AFTER` seconds starts again from the first step.
    """

    def __init__(
        self,
        server: Server,
        host: str,
        port: int,
        *,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
        connect_timeout: float = 10.0,
    ) -> None:
        """Configure; nothing is dialled until `start()`."""
        if not backoff:
            raise ValueError("backoff needs at least one delay")
        self.server = server
        self.host = host
        self.port = port
        self.backoff = tuple(backoff)
        self.connect_timeout = connect_timeout
        self.line = LineCounters()
        self.state = "disconnected"
        self.last_error: str | None = None
        self.connected_since: datetime | None = None
        self.connects = 0
        self.closed_counters = Counters()  # of the connections that ended (for totals)
        self._stream: _RtuStream | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        """Start dialling (returns at once; the connection comes when the gateway answers)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Hang up and stop dialling."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self.state = "disconnected"
        self.connected_since = None

    async def wait_connected(self) -> None:
        """Return once connected (tests, and a caller that wants to report it)."""
        await self._connected.wait()

    @property
    def client(self) -> ClientInfo | None:
        """The gateway connection, while connected."""
        return None if self._stream is None else self._stream.info

    def diagnostics(self) -> dict[str, object]:
        """Connection state and counters, as plain data."""
        return {
            "transport": TRANSPORT,
            "role": "dialling",
            "gateway": f"{self.host}:{self.port}",
            "state": self.state,
            "last_error": self.last_error,
            "connected_since": self.connected_since.isoformat() if self.connected_since else None,
            "connects": self.connects,
            "connection": None if self.client is None else self.client.as_dict(),
            **self.line.as_dict(),
        }

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            self.state = "connecting"
            lost: _Lost = loop.create_future()

            def on_lost(stream: _RtuStream, exc: Exception | None, lost: _Lost = lost) -> None:
                if not lost.done():
                    lost.set_result(exc)

            try:
                async with asyncio.timeout(self.connect_timeout):
                    _, protocol = await loop.create_connection(
                        lambda: _RtuStream(self.server, self.line, self.connects + 1, on_lost),
                        self.host,
                        self.port,
                    )
            except (OSError, TimeoutError) as exc:
                self._disconnected(f"connect failed: {exc or 'timed out'}")
            else:
                self._stream = protocol
                self.connects += 1
                self.state = "connected"
                self.connected_since = datetime.now(UTC)
                self._connected.set()
                _LOGGER.info("Connected to RTU gateway %s:%s", self.host, self.port)
                started = loop.time()
                error = await lost
                if loop.time() - started >= _STABLE_AFTER:
                    failures = 0
                self.closed_counters.add(protocol.info.counters)
                self._stream = None
                self._disconnected(f"connection lost: {error}" if error else "gateway closed")
            delay = self.backoff[min(failures, len(self.backoff) - 1)]
            failures += 1
            await asyncio.sleep(delay)

    def _disconnected(self, reason: str) -> None:
        if self.state == "connected":
            _LOGGER.warning("RTU gateway %s:%s: %s", self.host, self.port, reason)
        self.state = "disconnected"
        self.connected_since = None
        self.last_error = reason
        self._connected.clear()
