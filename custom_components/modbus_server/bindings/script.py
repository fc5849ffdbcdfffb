"""script: running = 1; a written 1 calls script.turn_on (starts it), 0 script.turn_off."""

from __future__ import annotations

from .base import OnOffBinding, register


@register
class ScriptBinding(OnOffBinding):
    """A script."""

    domain = "script"
