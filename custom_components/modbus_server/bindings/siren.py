"""siren: on = 1; a written 1/0 calls siren.turn_on/turn_off."""

from __future__ import annotations

from .base import OnOffBinding, register


@register
class SirenBinding(OnOffBinding):
    """A siren."""

    domain = "siren"
