"""fan: on = 1 (turn_on/turn_off); percentage 0..100 via fan.set_percentage."""

from __future__ import annotations

from .base import AttributeSpec, OnOffBinding, register, specs


@register
class FanBinding(OnOffBinding):
    """A fan; the percentage reads 0 while it is off (HA picks the nearest speed on writes)."""

    domain = "fan"
    attribute_specs = specs(
        percentage=AttributeSpec(
            data_type="uint16",
            service="set_percentage",
            minimum=0,
            maximum=100,
            integer=True,
            missing=0,
        ),
    )
