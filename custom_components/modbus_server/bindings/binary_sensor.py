"""binary_sensor: on = 1, read only."""

from __future__ import annotations

from .base import DomainBinding, register


@register
class BinarySensorBinding(DomainBinding):
    """A binary sensor."""

    domain = "binary_sensor"
    is_binary = True
    on_states = frozenset({"on"})
    off_states = frozenset({"off"})
