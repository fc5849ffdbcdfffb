"""input_boolean: on = 1; a written 1/0 calls input_boolean.turn_on/turn_off."""

from __future__ import annotations

from .base import OnOffBinding, register


@register
class InputBooleanBinding(OnOffBinding):
    """A helper toggle."""

    domain = "input_boolean"
