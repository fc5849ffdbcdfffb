"""counter: the count (int32); a written value calls counter.set_value within minimum/maximum."""

from __future__ import annotations

from .base import SetValueBinding, register


@register
class CounterBinding(SetValueBinding):
    """A helper counter."""

    domain = "counter"
    state_data_type = "int32"
    minimum = "minimum"
    maximum = "maximum"
    step = None
    integer = True
