"""Benchmark helper injected only into the config dir of benchmarks/in_ha.py.

* 100 entities (``sensor.bench_000`` ... and ``binary_sensor.bench_bit_00`` ...) whose states
  change 10 times a second each, staggered: every 10 ms the next tenth of them is set, so the
  load is spread like real integrations' updates rather than one burst per 100 ms.
* the constant entities the load generator's fixed pattern is mapped from
  (``sensor.bench_zero`` = 0, ``binary_sensor.bench_on`` / ``bench_off``).
* an event-loop lag sampler: a callback scheduled every 5 ms records how late it ran.
  ``modbus_bench.lag`` (response only) returns p50/p99/max in ms since the previous call and
  starts a new window.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers.typing import ConfigType

DOMAIN = "modbus_bench"
FLOATS = 40
INT16S = 20
COUNTERS = 20
BITS = 20
UPDATE_HZ = 10
SLICES = 10
LAG_INTERVAL = 0.005


def entity_ids() -> list[str]:
    """The 100 changing entities, in the order the benchmark maps them."""
    ids = [f"sensor.bench_{i:03d}" for i in range(FLOATS + INT16S + COUNTERS)]
    return ids + [f"binary_sensor.bench_bit_{i:02d}" for i in range(BITS)]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Start the state changer and the lag sampler."""
    loop = hass.loop
    ids = entity_ids()
    tick = 0
    samples: list[float] = []

    hass.states.async_set("sensor.bench_zero", "0")
    hass.states.async_set("binary_sensor.bench_on", "on")
    hass.states.async_set("binary_sensor.bench_off", "off")

    def value(index: int, step: int) -> str:
        if index < FLOATS:
            return f"{20 + 10 * math.sin(step / 10 + index):.3f}"
        if index < FLOATS + INT16S:
            return f"{-100 + (step + index) % 200 / 10:.1f}"
        if index < FLOATS + INT16S + COUNTERS:
            return str(1_000_000 + step * 7 + index)
        return "on" if (step + index) % 2 else "off"

    per_slice = math.ceil(len(ids) / SLICES)
    slice_period = 1 / (UPDATE_HZ * SLICES)

    @callback
    def update() -> None:
        nonlocal tick
        part = tick % SLICES
        step = tick // SLICES
        for index in range(part * per_slice, min(len(ids), (part + 1) * per_slice)):
            hass.states.async_set(ids[index], value(index, step))
        tick += 1
        loop.call_later(slice_period, update)

    due = loop.time() + LAG_INTERVAL

    @callback
    def sample() -> None:
        nonlocal due
        now = loop.time()
        samples.append(max(0.0, now - due))
        due = now + LAG_INTERVAL
        loop.call_at(due, sample)

    async def lag(call: ServiceCall) -> ServiceResponse:
        window = sorted(samples)
        samples.clear()
        if not window:
            return {"n": 0}
        cut = statistics.quantiles(window, n=100, method="inclusive") if len(window) > 1 else []

        def ms(seconds: float) -> float:
            return round(seconds * 1000, 3)

        result: dict[str, Any] = {
            "n": len(window),
            "p50_ms": ms(statistics.median(window)),
            "p99_ms": ms(cut[98] if cut else window[0]),
            "max_ms": ms(window[-1]),
            "mean_ms": ms(statistics.fmean(window)),
        }
        return result

    hass.services.async_register(DOMAIN, "lag", lag, supports_response=SupportsResponse.ONLY)
    for index, entity_id in enumerate(ids):
        hass.states.async_set(entity_id, value(index, 0))
    loop.call_soon(update)
    loop.call_at(due, sample)
    return True
