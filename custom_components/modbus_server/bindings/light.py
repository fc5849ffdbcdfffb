"""light: on = 1 (turn_on/turn_off); brightness 0..255 and colour temperature as registers."""

from __future__ import annotations

from .base import AttributeSpec, OnOffBinding, register, specs


@register
class LightBinding(OnOffBinding):
    """A light; brightness reads 0 while it is off, writing it calls light.turn_on."""

    domain = "light"
    attribute_specs = specs(
        brightness=AttributeSpec(
            data_type="uint16",
            service="turn_on",
            minimum=0,
            maximum=255,
            step=1,
            integer=True,
            missing=0,
        ),
        color_temp_kelvin=AttributeSpec(
            data_type="uint16",
            service="turn_on",
            minimum="min_color_temp_kelvin",
            maximum="max_color_temp_kelvin",
            integer=True,
        ),
    )
