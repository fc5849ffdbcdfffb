"""device_tracker: home = 1 (any other zone or not_home = 0); GPS attributes read only."""

from __future__ import annotations

from .base import AttributeSpec, DomainBinding, register, specs

TRACKER_ATTRIBUTES = specs(
    latitude=AttributeSpec(data_type="float32"),
    longitude=AttributeSpec(data_type="float32"),
    gps_accuracy=AttributeSpec(data_type="uint16"),
    battery_level=AttributeSpec(data_type="uint16"),
)


@register
class DeviceTrackerBinding(DomainBinding):
    """A tracked device."""

    domain = "device_tracker"
    is_binary = True
    on_states = frozenset({"home"})
    attribute_specs = TRACKER_ATTRIBUTES
