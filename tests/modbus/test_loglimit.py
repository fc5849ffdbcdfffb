"""The log limiter on its own, with a hand-driven clock."""

from __future__ import annotations

from custom_components.modbus_server.modbus.loglimit import LogLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_line_of_a_key_passes_then_one_per_interval_with_the_count_held_back() -> None:
    clock = Clock()
    limiter = LogLimiter(interval=60, clock=clock)
    assert limiter.allow("a") == 0
    assert [limiter.allow("a") for _ in range(5)] == [None] * 5
    assert limiter.allow("b") == 0  # keys are independent
    clock.now += 59
    assert limiter.allow("a") is None
    clock.now += 1
    assert limiter.allow("a") == 6
    assert limiter.allow("a") is None


def test_when_the_keys_are_full_new_keys_share_a_budget_per_interval() -> None:
    clock = Clock()
    limiter = LogLimiter(interval=60, max_keys=4, new_keys_per_interval=2, clock=clock)
    assert [limiter.allow(k) for k in range(4)] == [0, 0, 0, 0]
    assert [limiter.allow(k) for k in range(4, 10)] == [0, 0, None, None, None, None]
    clock.now += 60
    assert limiter.allow(10) == 4  # the new keys held back meanwhile
    assert limiter.allow(11) == 0
    assert limiter.allow(12) is None
    assert len(limiter._seen) == 4  # bounded: the oldest keys were forgotten


def test_a_recently_used_key_is_kept_when_the_oldest_is_forgotten() -> None:
    clock = Clock()
    limiter = LogLimiter(max_keys=2, clock=clock)
    limiter.allow("old")
    limiter.allow("busy")
    limiter.allow("old")  # used again: now the most recent
    limiter.allow("new")  # forgets "busy", the least recently used
    assert limiter.allow("old") is None  # still known: still quiet
    assert set(limiter._seen) == {"old", "new"}
