"""water_heater: not off = 1; operation mode as index; current and target temperature."""

from __future__ import annotations

from .base import AttributeSpec, OptionBinding, register, specs


@register
class WaterHeaterBinding(OptionBinding):
    """A water heater."""

    domain = "water_heater"
    is_binary = True
    off_states = frozenset({"off"})
    turn_on_service = "turn_on"
    turn_off_service = "turn_off"
    options_attribute = "operation_list"
    select_service = "set_operation_mode"
    select_field = "operation_mode"
    attribute_specs = specs(
        current_temperature=AttributeSpec(),
        temperature=AttributeSpec(
            service="set_temperature",
            minimum="min_temp",
            maximum="max_temp",
            step="target_temp_step",
        ),
    )
