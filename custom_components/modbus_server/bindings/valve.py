"""valve: open = 1 (anything but closed); open/close; position 0..100 as a register."""

from __future__ import annotations

from .base import AttributeSpec, DomainBinding, register, specs


@register
class ValveBinding(DomainBinding):
    """A valve; opening/closing read 1 (not closed)."""

    domain = "valve"
    is_binary = True
    off_states = frozenset({"closed"})
    turn_on_service = "open_valve"
    turn_off_service = "close_valve"
    settled_states = frozenset({"open", "closed"})  # not while opening/closing
    attribute_specs = specs(
        current_position=AttributeSpec(
            data_type="uint16",
            service="set_valve_position",
            service_field="position",
            minimum=0,
            maximum=100,
            integer=True,
        ),
    )
