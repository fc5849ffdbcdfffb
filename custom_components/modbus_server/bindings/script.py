"""script: running = 1; a written 1 calls script.turn_on (starts it), 0 script.turn_off."""

from __future__ import annotations

from ..const import WRITE_MODE_ALWAYS
from .base import OnOffBinding, register


@register
class ScriptBinding(OnOffBinding):
    """A script."""

    domain = "script"
    default_write_mode = WRITE_MODE_ALWAYS  # a 1 starts a run, even while one runs
