"""Live values are coalesced: a burst of changes costs one message, at most 4 per second."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.modbus_server.panel import live
from custom_components.modbus_server.panel.live import INTERVAL, LiveRows
from custom_components.modbus_server.panel.source import RowValue


class FakeLoop:
    """Records what `call_later` was asked to run, and when."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, Any]] = []

    def call_later(self, delay: float, callback: Any) -> Any:
        self.calls.append((delay, callback))
        return self


class FakeHass:
    def __init__(self) -> None:
        self.loop = FakeLoop()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The monotonic clock LiveRows reads, set by the test."""
    now = [100.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: now[0])
    return now


def test_changes_within_the_interval_wait_for_one_batch(
    monkeypatch: pytest.MonkeyPatch, clock: list[float]
) -> None:
    sent: list[dict[str, Any]] = []
    hass = FakeHass()
    rows = LiveRows(hass, None, "device", sent.append, lambda value: [value.value])  # type: ignore[arg-type]
    rows._points = {"a": object(), "b": object()}  # type: ignore[dict-item]
    monkeypatch.setattr(
        live.source,
        "row_values",
        lambda entry, points: {key: RowValue([1], key, None) for key in ("a", "b")},
    )

    rows._changed({"a"})
    rows._changed({"b"})  # same burst: no second timer
    assert [delay for delay, _ in hass.loop.calls] == [0.0]
    hass.loop.calls[0][1]()
    assert sent == [{"values": {"a": ["a"], "b": ["b"]}}]

    clock[0] += 0.1  # the next change comes 0.1 s after that batch
    rows._changed({"a"})
    assert hass.loop.calls[1][0] == pytest.approx(INTERVAL - 0.1)
    assert INTERVAL == 0.25
