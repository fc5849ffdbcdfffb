"""automation: enabled = 1; a written 1/0 calls automation.turn_on/turn_off (enable/disable)."""

from __future__ import annotations

from .base import OnOffBinding, register


@register
class AutomationBinding(OnOffBinding):
    """An automation."""

    domain = "automation"
