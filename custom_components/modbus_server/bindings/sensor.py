"""sensor: the numeric state; timestamps as epoch seconds; enum sensors as option index."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import DomainBinding, Value, as_epoch_seconds, register, state_number

if TYPE_CHECKING:
    from homeassistant.core import State

    from ..modbus.area import Area


@register
class SensorBinding(DomainBinding):
    """A sensor (read only); any numeric attribute can be read too."""

    domain = "sensor"
    register_state = True

    def default_data_type_name(
        self, area: Area, attribute: str | None, state: State | None = None
    ) -> str:
        """Use uint32 for timestamps (float32 would round them to minutes), else float32."""
        if (
            attribute is None
            and state is not None
            and state.attributes.get("device_class") == "timestamp"
        ):
            return "uint32"
        return super().default_data_type_name(area, attribute, state)

    def read_state(self, state: State) -> Value | None:
        """Number, or epoch seconds of a timestamp, or the index of an enum option."""
        number = state_number(state.state)
        if number is not None:
            return number
        if state.attributes.get("device_class") == "timestamp":
            return as_epoch_seconds(state.state)
        options = state.attributes.get("options")
        if isinstance(options, list) and state.state in options:
            return options.index(state.state)
        return None
