"""select: the index of the current option; a written index calls select.select_option."""

from __future__ import annotations

from .base import OptionBinding, register


@register
class SelectBinding(OptionBinding):
    """A select entity."""

    domain = "select"
