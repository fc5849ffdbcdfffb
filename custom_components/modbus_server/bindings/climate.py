"""climate: heating/cooling (not off) = 1; hvac mode as index; temperatures and humidity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import AttributeSpec, OptionBinding, register, specs

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import State


def _keep(other: str) -> Callable[[State], dict[str, Any]]:
    """Send the other end of a temperature range along (set_temperature needs both)."""

    def extra(state: State) -> dict[str, Any]:
        value = state.attributes.get(other)
        return {} if value is None else {other: value}

    return extra


def _temperature(extra: Callable[[State], dict[str, Any]] | None = None) -> AttributeSpec:
    """A target temperature, written with set_temperature within min/max/step."""
    return AttributeSpec(
        service="set_temperature",
        minimum="min_temp",
        maximum="max_temp",
        step="target_temp_step",
        extra=extra,
    )


@register
class ClimateBinding(OptionBinding):
    """A thermostat: bits for on/off, a register for the hvac mode, attributes for the rest."""

    domain = "climate"
    is_binary = True
    off_states = frozenset({"off"})
    turn_on_service = "turn_on"
    turn_off_service = "turn_off"
    options_attribute = "hvac_modes"
    select_service = "set_hvac_mode"
    select_field = "hvac_mode"
    attribute_specs = specs(
        current_temperature=AttributeSpec(),
        temperature=_temperature(),
        target_temp_low=_temperature(_keep("target_temp_high")),
        target_temp_high=_temperature(_keep("target_temp_low")),
        current_humidity=AttributeSpec(data_type="uint16"),
        humidity=AttributeSpec(
            data_type="uint16",
            service="set_humidity",
            minimum="min_humidity",
            maximum="max_humidity",
            step="target_humidity_step",
            integer=True,
        ),
    )
