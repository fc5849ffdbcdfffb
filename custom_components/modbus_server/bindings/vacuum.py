"""vacuum: cleaning = 1; a written 1 calls vacuum.start, 0 vacuum.return_to_base; battery."""

from __future__ import annotations

from .base import AttributeSpec, DomainBinding, register, specs


@register
class VacuumBinding(DomainBinding):
    """A robot vacuum (every state but 'cleaning' reads 0)."""

    domain = "vacuum"
    is_binary = True
    on_states = frozenset({"cleaning"})
    turn_on_service = "start"
    turn_off_service = "return_to_base"
    settled_states = frozenset({"cleaning", "docked"})  # idle/paused read 0 but are not docked
    attribute_specs = specs(battery_level=AttributeSpec(data_type="uint16"))
