"""media_player: powered (not off/standby) = 1; volume 0..1 via volume_set; mute read only."""

from __future__ import annotations

from .base import AttributeSpec, DomainBinding, register, specs


@register
class MediaPlayerBinding(DomainBinding):
    """A media player; scale the volume (e.g. uint16 with scale 0.01) to get percent."""

    domain = "media_player"
    is_binary = True
    off_states = frozenset({"off", "standby"})
    turn_on_service = "turn_on"
    turn_off_service = "turn_off"
    attribute_specs = specs(
        volume_level=AttributeSpec(service="volume_set", minimum=0.0, maximum=1.0, missing=None),
        is_volume_muted=AttributeSpec(data_type="uint16"),
    )
