"""input_button: a coil; writing 1 calls input_button.press, 0 does nothing; reads 0."""

from __future__ import annotations

from .base import register
from .button import PressBinding


@register
class InputButtonBinding(PressBinding):
    """A helper button."""

    domain = "input_button"
