"""input_datetime: epoch seconds (date or date+time) or seconds since midnight (time only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..modbus.exceptions import IllegalDataValue
from .base import DomainBinding, ServiceCall, Value, register, state_number

if TYPE_CHECKING:
    from homeassistant.core import State

SECONDS_PER_DAY = 86_400


@register
class InputDatetimeBinding(DomainBinding):
    """A helper date/time; written with input_datetime.set_datetime."""

    domain = "input_datetime"
    register_state = True
    state_data_type = "uint32"

    def read_state(self, state: State) -> Value | None:
        """The `timestamp` attribute HA keeps in whole seconds."""
        number = state_number(state.attributes.get("timestamp"))
        return None if number is None else int(number)

    def state_writable(self) -> bool:
        """Say yes: written with set_datetime."""
        return True

    def write_state(self, state: State, value: Value) -> ServiceCall | None:
        """A timestamp for date helpers, a time of day (0..86399 s) for time-only helpers."""
        if isinstance(value, str) or not float(value).is_integer() or value < 0:
            raise IllegalDataValue(f"{value!r} is not a whole number of seconds")
        seconds = int(value)
        if state.attributes.get("has_date", True):
            return ServiceCall(self.domain, "set_datetime", {"timestamp": seconds})
        if seconds >= SECONDS_PER_DAY:
            raise IllegalDataValue(f"{seconds} s is not a time of day (0..86399)")
        hours, rest = divmod(seconds, 3600)
        text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        return ServiceCall(self.domain, "set_datetime", {"time": text})
