"""remote: on = 1; a written 1/0 calls remote.turn_on/turn_off."""

from __future__ import annotations

from .base import OnOffBinding, register


@register
class RemoteBinding(OnOffBinding):
    """A remote."""

    domain = "remote"
