"""weather: no value of its own; its measurements as read-only register attributes."""

from __future__ import annotations

from .base import AttributeSpec, DomainBinding, register, specs


@register
class WeatherBinding(DomainBinding):
    """A weather entity (the state is a condition text, so only attributes are offered)."""

    domain = "weather"
    attribute_specs = specs(
        temperature=AttributeSpec(),
        apparent_temperature=AttributeSpec(),
        dew_point=AttributeSpec(),
        humidity=AttributeSpec(data_type="uint16"),
        pressure=AttributeSpec(),
        wind_speed=AttributeSpec(),
        wind_bearing=AttributeSpec(),
        cloud_coverage=AttributeSpec(data_type="uint16"),
        uv_index=AttributeSpec(),
        visibility=AttributeSpec(),
    )
