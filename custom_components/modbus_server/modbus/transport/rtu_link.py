"""Serving the requests found on an RTU line: one at a time, in order, as a slave must.

Shared by the serial line and RTU over TCP (listening or dialling): the decoder finds the
frames, this decides what each gets. Another slave's response passes by; a request for a
unit id no device here answers is left to that slave (no answer, whatever the server's
`unknown_unit` says: on a bus, answering for others collides with them); unit 0 is a
broadcast write, applied to every device and never answered. Every answer waits until
`turnaround` seconds after the request ended (3.5 characters on a serial line), and is
not sent at all when another frame comes first (the master gave up waiting for it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from ..framing.rtu import FrameKind, RtuDecoder, encode_frame
from ..server import WIRE_LOGGER, Server
from ..stats import ClientInfo, LineCounters
from .timer import CallAt, Cancellable

_LOGGER = logging.getLogger(__name__)
BROADCAST_UNIT = 0


class RtuLink:
    """The slave side of one RTU byte stream: decoder, request queue, answer timing."""

    def __init__(
        self,
        server: Server,
        client: ClientInfo,
        send: Callable[[bytes], None],
        *,
        turnaround: float = 0.0,
        timed: bool = False,
        counters: LineCounters | None = None,
        call_at: CallAt | None = None,
    ) -> None:
        """`send` writes a whole frame; `timed` lines count silence violations.

        `call_at` schedules a delayed answer (default: the loop's; the serial line passes
        a more precise one).
        """
        self.server = server
        self.client = client
        self.line = counters or LineCounters()
        self.turnaround = turnaround
        self._send = send
        self._decoder = RtuDecoder(self.line, timed=timed)
        self._queue: deque[tuple[int, bytes, float]] = deque()
        self._busy = False  # an answer is being prepared or waits for its turnaround
        self._answer_pending = False  # ... and it is an answer (not a broadcast)
        self._drop_result = False  # the callback running now answers too late: send nothing
        self._call_at = call_at
        self._timer: Cancellable | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def data_received(self, data: bytes, received_at: float, *, after_silence: bool) -> None:
        """Bytes from the line; `received_at` is loop time, when the last of them came."""
        counters = self.client.counters
        counters.bytes_received += len(data)
        if WIRE_LOGGER.isEnabledFor(logging.DEBUG):
            WIRE_LOGGER.debug("%s -> %s", self.client.host, data.hex(" "))
        line = self.line
        frames = self._decoder.feed(data, after_silence=after_silence)
        if frames and self._answer_pending:
            self._drop_answer()
        for kind, unit_id, pdu in frames:
            if kind is FrameKind.RESPONSE:
                line.foreign_responses += 1
            elif unit_id == BROADCAST_UNIT:
                line.broadcasts += 1
                self._queue.append((unit_id, pdu, received_at))
            elif not self.server.serves(unit_id):
                line.other_units += 1
                counters.unknown_unit += 1
            else:
                self._queue.append((unit_id, pdu, received_at))
        if self._queue and not self._busy:
            self._next()

    def _drop_answer(self) -> None:
        """Another frame came before the answer left: the master has moved on.

        Sending it now would collide with the next transaction on the bus. A write the
        callback is making still completes; only its answer is not sent.
        """
        self._answer_pending = False
        self.line.answers_dropped += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._busy = False
        else:
            self._drop_result = True

    def close(self) -> None:
        """Drop what is queued and any answer not yet sent."""
        self._closed = True
        self._queue.clear()
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()

    def _next(self) -> None:
        """Serve queued requests until one must wait (async callback or turnaround)."""
        handle = self.server.handle
        client = self.client
        while self._queue and not self._closed:
            unit_id, pdu, ended = self._queue.popleft()
            client.counters.requests += 1
            client.unit_id = unit_id
            if unit_id == BROADCAST_UNIT:
                self._wait_for(self.server.broadcast(client, pdu), None, ended)
                return
            response = handle(client, unit_id, pdu)
            if response is None:  # the devices changed since the frame was queued
                continue
            if not isinstance(response, bytes):
                self._wait_for(response, unit_id, ended)
                return
            if self._answer(unit_id, response, ended):
                return
        self._busy = False

    def _wait_for(
        self, pending: Coroutine[Any, Any, bytes | None], unit_id: int | None, ended: float
    ) -> None:
        self._busy = True
        self._answer_pending = unit_id is not None
        self._task = asyncio.get_running_loop().create_task(self._complete(pending, unit_id, ended))

    async def _complete(
        self, pending: Coroutine[Any, Any, bytes | None], unit_id: int | None, ended: float
    ) -> None:
        response = await pending
        self._task = None
        self._answer_pending = False
        drop, self._drop_result = self._drop_result, False
        if drop or unit_id is None or response is None:
            self._next()
            return
        if not self._answer(unit_id, response, ended):
            self._next()

    def _answer(self, unit_id: int, response: bytes, ended: float) -> bool:
        """Send now, or at `ended + turnaround`; True when it had to wait."""
        if response[0] & 0x80:
            self.client.counters.exceptions[response[1]] += 1
        frame = encode_frame(unit_id, response)
        loop = asyncio.get_running_loop()
        due = ended + self.turnaround
        if loop.time() >= due:
            self._write(frame)
            return False
        self._busy = True
        self._answer_pending = True
        call_at = self._call_at or loop.call_at
        self._timer = call_at(due, self._send_then_next, frame)
        return True

    def _send_then_next(self, frame: bytes) -> None:
        self._timer = None
        self._answer_pending = False
        self._write(frame)
        self._next()

    def _write(self, frame: bytes) -> None:
        if self._closed:
            return
        self.client.counters.bytes_sent += len(frame)
        self.client.last_request = time.time()
        if WIRE_LOGGER.isEnabledFor(logging.DEBUG):
            WIRE_LOGGER.debug("%s <- %s", self.client.host, frame.hex(" "))
        self._send(frame)
