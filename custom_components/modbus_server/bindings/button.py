"""button: a coil; writing 1 calls button.press, 0 is accepted and does nothing; reads 0."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..const import WRITE_MODE_ALWAYS
from ..modbus.area import Area
from .base import DomainBinding, register

if TYPE_CHECKING:
    from homeassistant.core import State


class PressBinding(DomainBinding):
    """A momentary action: only a coil, which always reads 0 (the press is not a state)."""

    is_binary = True
    default_write_mode = WRITE_MODE_ALWAYS  # every 1 is a press
    turn_on_service = "press"

    def areas(self, attribute: str | None) -> list[Area]:
        """Only a coil (nothing meaningful to read)."""
        return [] if attribute is not None else [Area.COIL]

    def read_bit(self, state: State) -> int | None:
        """Always 0: a button has no on state."""
        return 0


@register
class ButtonBinding(PressBinding):
    """A button entity."""

    domain = "button"
