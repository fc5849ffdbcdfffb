"""number: the numeric state; a written value calls number.set_value within min/max/step."""

from __future__ import annotations

from .base import SetValueBinding, register


@register
class NumberBinding(SetValueBinding):
    """A number entity."""

    domain = "number"
