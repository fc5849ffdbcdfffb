"""lawn_mower: mowing = 1; a written 1 calls lawn_mower.start_mowing, 0 lawn_mower.dock."""

from __future__ import annotations

from .base import DomainBinding, register


@register
class LawnMowerBinding(DomainBinding):
    """A robot lawn mower (every state but 'mowing' reads 0)."""

    domain = "lawn_mower"
    is_binary = True
    on_states = frozenset({"mowing"})
    turn_on_service = "start_mowing"
    turn_off_service = "dock"
    settled_states = frozenset({"mowing", "docked"})  # paused reads 0 but is not docked
