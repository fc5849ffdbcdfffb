"""Rate limiting for log lines a remote peer can trigger at will.

A hostile or broken client can repeat the same fault (a bad frame, a refused connection, a
request that makes a callback fail) as fast as the network allows; logging every occurrence
would fill the log. `LogLimiter` lets the first line of each key through, then at most one per
key per interval, telling the caller how many were held back so the line can say so. Keys live
in a bounded LRU: once it is full, new keys share a small budget per interval, so a peer that
invents a new key for every line (a new message, a new source address) cannot log every line
either.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(slots=True)
class _Seen:
    last: float  # when a line of this key was last let through
    held: int = 0  # lines held back since then


class LogLimiter:
    """Decide which of many similar log lines to emit.

    `allow(key)` returns None to stay quiet (log at debug level, or not at all), else the number
    of lines of that key held back since its last line (0 the first time). For a new key once
    `max_keys` are remembered, the count is that of new keys held back meanwhile.
    """

    def __init__(
        self,
        *,
        interval: float = 60.0,
        max_keys: int = 256,
        new_keys_per_interval: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the limiter; `clock` is injectable for tests."""
        self.interval = interval
        self.max_keys = max_keys
        self.new_keys_per_interval = new_keys_per_interval
        self._clock = clock
        self._seen: OrderedDict[Hashable, _Seen] = OrderedDict()
        self._window_start = float("-inf")
        self._new_in_window = 0
        self._new_held = 0

    def allow(self, key: Hashable) -> int | None:
        """Return None to suppress this line, else how many were held back before it."""
        now = self._clock()
        seen = self._seen.get(key)
        if seen is not None:
            self._seen.move_to_end(key)
            if now - seen.last < self.interval:
                seen.held += 1
                return None
            held, seen.last, seen.held = seen.held, now, 0
            return held
        held = 0
        if len(self._seen) >= self.max_keys:
            if now - self._window_start >= self.interval:
                self._window_start, self._new_in_window = now, 0
            if self._new_in_window >= self.new_keys_per_interval:
                self._new_held += 1
                return None
            self._new_in_window += 1
            held, self._new_held = self._new_held, 0
            self._seen.popitem(last=False)
        self._seen[key] = _Seen(now)
        return held
