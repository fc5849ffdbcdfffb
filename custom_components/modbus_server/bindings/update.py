"""update: update available = 1; a written 1 calls update.install, 0 does nothing."""

from __future__ import annotations

from ..const import WRITE_MODE_ALWAYS
from .base import OnOffBinding, register


@register
class UpdateBinding(OnOffBinding):
    """An update entity (install on 1; there is nothing to undo on 0)."""

    domain = "update"
    turn_on_service = "install"
    turn_off_service = None
    default_write_mode = WRITE_MODE_ALWAYS  # 1 while an update is available means: install it
