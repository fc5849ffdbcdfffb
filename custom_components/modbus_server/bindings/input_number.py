"""input_number: the numeric state; a written value calls input_number.set_value (min/max/step)."""

from __future__ import annotations

from .base import SetValueBinding, register


@register
class InputNumberBinding(SetValueBinding):
    """A helper number."""

    domain = "input_number"
