"""scene: a coil; writing 1 calls scene.turn_on (activates it), 0 does nothing; reads 0."""

from __future__ import annotations

from .base import register
from .button import PressBinding


@register
class SceneBinding(PressBinding):
    """A scene."""

    domain = "scene"
    turn_on_service = "turn_on"
