"""input_text: the text as a string point; a written string calls input_text.set_value."""

from __future__ import annotations

from .base import register
from .text import TextValueBinding


@register
class InputTextBinding(TextValueBinding):
    """A helper text."""

    domain = "input_text"
