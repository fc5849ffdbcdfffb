"""input_select: option index; a written index calls input_select.select_option."""

from __future__ import annotations

from .base import OptionBinding, register


@register
class InputSelectBinding(OptionBinding):
    """A helper dropdown."""

    domain = "input_select"
