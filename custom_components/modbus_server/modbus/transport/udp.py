"""Modbus UDP: one MBAP frame per datagram in, one per datagram out.

There is no connection, so nothing can be lost between datagrams: a malformed one (short,
a length field that does not match, protocol id other than 0) is counted and dropped, and
the next is served as usual. Unit ids are dispatched as on TCP (`unknown_unit` applies);
the server's allow-list drops datagrams from other addresses before they are parsed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from ..exceptions import ModbusProtocolError
from ..framing.mbap import MODBUS_PROTOCOL_ID, decode_frame, encode_frame
from ..lifecycle import StartStop
from ..server import WIRE_LOGGER, Server
from ..stats import ClientInfo, Counters

_LOGGER = logging.getLogger(__name__)
TRANSPORT = "udp"
_MAX_CLIENTS = 64  # peers remembered for diagnostics, most recent first out last


class UdpListener(StartStop):
    """Serves Modbus requests that arrive as UDP datagrams."""

    def __init__(self, server: Server, host: str | None = None, port: int = 502) -> None:
        """Configure; nothing is bound until `start()`."""
        self.server = server
        self._host = host
        self._port = port
        self.counters = Counters()
        self.datagrams_refused = 0
        self._clients: OrderedDict[tuple[str, int], ClientInfo] = OrderedDict()
        self._transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_id = 1

    async def start(self) -> None:
        """Bind (OSError when the port cannot be bound)."""
        if self._transport is not None:
            return
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(self), local_addr=(self._host or "0.0.0.0", self._port)
        )
        self._transport = transport
        self._port = transport.get_extra_info("sockname")[1]

    async def stop(self) -> None:
        """Unbind; answers still being prepared are dropped."""
        transport, self._transport = self._transport, None
        for task in list(self._tasks):
            task.cancel()
        if transport is not None:
            transport.close()

    @property
    def port(self) -> int:
        """The bound port (after `start()`), or the configured one."""
        return self._port

    @property
    def clients(self) -> list[ClientInfo]:
        """The peers heard from recently (up to 64), oldest first."""
        return list(self._clients.values())

    def diagnostics(self) -> dict[str, object]:
        """Counters and recent peers, as plain data."""
        return {
            "transport": TRANSPORT,
            "port": self._port,
            "datagrams_refused": self.datagrams_refused,
            "clients": [info.as_dict() for info in self._clients.values()],
            **self.counters.as_dict(),
        }

    # --- datagrams ----------------------------------------------------------------------

    def _client(self, address: tuple[str, int]) -> ClientInfo:
        info = self._clients.get(address)
        if info is None:
            info = ClientInfo(address[0], address[1], datetime.now(UTC), self._next_id)
            info.transport = TRANSPORT
            self._next_id += 1
            self._clients[address] = info
            if len(self._clients) > _MAX_CLIENTS:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(address)
        return info

    def received(self, data: bytes, address: tuple[str, int]) -> None:
        """Serve one datagram (called by the protocol)."""
        counters = self.counters
        if not self.server.allows(address[0]):
            self.datagrams_refused += 1
            return
        counters.bytes_received += len(data)
        if WIRE_LOGGER.isEnabledFor(logging.DEBUG):
            WIRE_LOGGER.debug("udp %s:%s -> %s", address[0], address[1], data.hex(" "))
        try:
            transaction_id, protocol_id, unit_id, pdu = decode_frame(data)
        except ModbusProtocolError as exc:
            counters.framing_errors += 1
            _LOGGER.debug("Dropped a datagram from %s: %s", address[0], exc)
            return
        if protocol_id != MODBUS_PROTOCOL_ID:
            counters.frames_ignored += 1
            return
        info = self._client(address)
        counters.requests += 1
        info.counters.requests += 1
        info.unit_id = unit_id
        response = self.server.handle(info, unit_id, pdu)
        if response is None:
            counters.unknown_unit += 1
        elif isinstance(response, bytes):
            self._send(info, address, transaction_id, unit_id, response)
        else:
            task = asyncio.get_running_loop().create_task(
                self._complete(info, address, transaction_id, unit_id, response)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _complete(
        self,
        info: ClientInfo,
        address: tuple[str, int],
        transaction_id: int,
        unit_id: int,
        pending: Coroutine[Any, Any, bytes],
    ) -> None:
        self._send(info, address, transaction_id, unit_id, await pending)

    def _send(
        self,
        info: ClientInfo,
        address: tuple[str, int],
        transaction_id: int,
        unit_id: int,
        response: bytes,
    ) -> None:
        if self._transport is None:
            return
        if response[0] & 0x80:
            self.counters.exceptions[response[1]] += 1
            info.counters.exceptions[response[1]] += 1
        frame = encode_frame(transaction_id, unit_id, response)
        self.counters.bytes_sent += len(frame)
        info.last_request = time.time()
        if WIRE_LOGGER.isEnabledFor(logging.DEBUG):
            WIRE_LOGGER.debug("udp %s:%s <- %s", address[0], address[1], frame.hex(" "))
        self._transport.sendto(frame, address)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, listener: UdpListener) -> None:
        self._listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._listener.received(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # An ICMP "port unreachable" for an earlier answer: that peer left. Keep serving.
        _LOGGER.debug("UDP error: %s", exc)
