"""humidifier: on = 1; target humidity (set_humidity, min/max) and current humidity."""

from __future__ import annotations

from .base import AttributeSpec, OnOffBinding, register, specs


@register
class HumidifierBinding(OnOffBinding):
    """A humidifier or dehumidifier."""

    domain = "humidifier"
    attribute_specs = specs(
        humidity=AttributeSpec(
            data_type="uint16",
            service="set_humidity",
            minimum="min_humidity",
            maximum="max_humidity",
            step="target_humidity_step",
            integer=True,
        ),
        current_humidity=AttributeSpec(data_type="uint16"),
    )
