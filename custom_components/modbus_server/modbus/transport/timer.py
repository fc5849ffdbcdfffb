"""A one-shot timer precise to tens of microseconds, for the serial line's turnaround.

asyncio's timers wake through the selector's timeout, which epoll takes in whole
milliseconds, rounded up: an answer due 1.75 ms after a request (t3.5 above 19200 baud)
would leave after 2-3 ms, a tenth of a short transaction's time on the line. A Linux
timerfd in the same event loop wakes it when due. Elsewhere `loop.call_at` is used.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Protocol


class Cancellable(Protocol):
    """What a scheduled call returns (asyncio.TimerHandle is one)."""

    def cancel(self) -> None:
        """Do not run the call."""


type CallAt = Callable[[float, Callable[[bytes], None], bytes], Cancellable]


class PreciseTimer:
    """One pending call at a time, on a timerfd watched by the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Create the timerfd and watch it (OSError where timerfds are missing)."""
        self._loop = loop
        self._fd = os.timerfd_create(time.CLOCK_MONOTONIC, flags=os.TFD_NONBLOCK | os.TFD_CLOEXEC)
        self._pending: tuple[Callable[[bytes], None], bytes] | None = None
        loop.add_reader(self._fd, self._fire)

    def call_at(self, when: float, callback: Callable[[bytes], None], arg: bytes) -> Cancellable:
        """Run `callback(arg)` at loop time `when` (replacing any call still pending)."""
        self._pending = (callback, arg)
        os.timerfd_settime(self._fd, initial=max(when - self._loop.time(), 1e-6))
        return self

    def cancel(self) -> None:
        """Drop the pending call."""
        self._pending = None
        os.timerfd_settime(self._fd, initial=0)

    def close(self) -> None:
        """Stop watching and close the timerfd."""
        self._pending = None
        self._loop.remove_reader(self._fd)
        os.close(self._fd)

    def _fire(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:
            return
        pending, self._pending = self._pending, None
        if pending is not None:
            pending[0](pending[1])


def precise_call_at(loop: asyncio.AbstractEventLoop) -> tuple[CallAt, Callable[[], None]]:
    """(call_at, close): a PreciseTimer's where timerfds exist, else the loop's own."""
    if not hasattr(os, "timerfd_create"):
        return loop.call_at, lambda: None
    try:
        timer = PreciseTimer(loop)
    except OSError:
        return loop.call_at, lambda: None
    return timer.call_at, timer.close
