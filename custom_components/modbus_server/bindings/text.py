"""text: the text as a string point; a written string calls text.set_value (length, pattern)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from ..modbus.area import Area
from ..modbus.exceptions import IllegalDataValue
from .base import REGISTER_AREAS, DomainBinding, ServiceCall, Value, register

if TYPE_CHECKING:
    from homeassistant.core import State


class TextValueBinding(DomainBinding):
    """A text state served as a `string` point (N registers)."""

    register_state = True
    state_data_type = "string"
    min_attribute: ClassVar[str] = "min"
    max_attribute: ClassVar[str] = "max"

    def areas(self, attribute: str | None) -> list[Area]:
        """Registers only."""
        return list(REGISTER_AREAS) if attribute is None else []

    def read_state(self, state: State) -> Value | None:
        """The text itself."""
        return state.state

    def state_writable(self) -> bool:
        """Say yes: text is written with set_value."""
        return True

    def write_state(self, state: State, value: Value) -> ServiceCall | None:
        """set_value after checking length and pattern (03 when refused)."""
        text = value if isinstance(value, str) else str(value)
        low = state.attributes.get(self.min_attribute)
        high = state.attributes.get(self.max_attribute)
        if isinstance(low, int) and len(text) < low:
            raise IllegalDataValue(f"text is shorter than {low} characters")
        if isinstance(high, int) and len(text) > high:
            raise IllegalDataValue(f"text is longer than {high} characters")
        pattern = state.attributes.get("pattern")
        if isinstance(pattern, str) and pattern and re.fullmatch(pattern, text) is None:
            raise IllegalDataValue(f"text does not match {pattern}")
        return ServiceCall(self.domain, "set_value", {"value": text})


@register
class TextBinding(TextValueBinding):
    """A text entity."""

    domain = "text"
