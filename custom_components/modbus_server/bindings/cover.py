"""cover: open = 1 (anything but closed); open/close; position and tilt 0..100 as registers."""

from __future__ import annotations

from .base import AttributeSpec, DomainBinding, register, specs


@register
class CoverBinding(DomainBinding):
    """A cover; opening/closing read 1 (not closed), like a 'closed' limit switch inverted."""

    domain = "cover"
    is_binary = True
    off_states = frozenset({"closed"})
    turn_on_service = "open_cover"
    turn_off_service = "close_cover"
    settled_states = frozenset({"open", "closed"})  # not while opening/closing
    attribute_specs = specs(
        current_position=AttributeSpec(
            data_type="uint16",
            service="set_cover_position",
            service_field="position",
            minimum=0,
            maximum=100,
            integer=True,
        ),
        current_tilt_position=AttributeSpec(
            data_type="uint16",
            service="set_cover_tilt_position",
            service_field="tilt_position",
            minimum=0,
            maximum=100,
            integer=True,
        ),
    )
