"""update: update available = 1; a written 1 calls update.install, 0 does nothing."""

from __future__ import annotations

from .base import OnOffBinding, register


@register
class UpdateBinding(OnOffBinding):
    """An update entity (install on 1; there is nothing to undo on 0)."""

    domain = "update"
    turn_on_service = "install"
    turn_off_service = None
