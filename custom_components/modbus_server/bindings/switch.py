"""switch: on = 1; a written 1/0 calls switch.turn_on/turn_off."""

from __future__ import annotations

from .base import OnOffBinding, register


@register
class SwitchBinding(OnOffBinding):
    """A switch."""

    domain = "switch"
