"""timer: active = 1; a written 1 calls timer.start, 0 timer.cancel; remaining/duration in s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..const import WRITE_MODE_ALWAYS
from .base import AttributeSpec, DomainBinding, Value, register, specs

if TYPE_CHECKING:
    from homeassistant.core import State


def duration_seconds(raw: object) -> int | None:
    """Parse HA's 'H:MM:SS' durations into whole seconds."""
    if not isinstance(raw, str):
        return None
    parts = raw.split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes, seconds = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        return None
    return hours * 3600 + minutes * 60 + int(seconds)


@register
class TimerBinding(DomainBinding):
    """A helper timer (paused reads 0)."""

    domain = "timer"
    default_write_mode = WRITE_MODE_ALWAYS  # a 1 (re)starts the timer
    is_binary = True
    on_states = frozenset({"active"})
    turn_on_service = "start"
    turn_off_service = "cancel"
    attribute_specs = specs(
        remaining=AttributeSpec(data_type="uint32"),
        duration=AttributeSpec(data_type="uint32"),
    )

    def read_attribute(self, state: State, attribute: str) -> Value | None:
        """Durations as seconds; other attributes as numbers."""
        if attribute in self.attribute_specs:
            return duration_seconds(state.attributes.get(attribute))
        return super().read_attribute(state, attribute)
