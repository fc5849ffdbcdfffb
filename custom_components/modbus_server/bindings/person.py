"""person: home = 1 (any other zone or not_home = 0); GPS attributes read only."""

from __future__ import annotations

from .base import AttributeSpec, DomainBinding, register, specs

PERSON_ATTRIBUTES = specs(
    latitude=AttributeSpec(data_type="float32"),
    longitude=AttributeSpec(data_type="float32"),
    gps_accuracy=AttributeSpec(data_type="uint16"),
)


@register
class PersonBinding(DomainBinding):
    """A person."""

    domain = "person"
    is_binary = True
    on_states = frozenset({"home"})
    attribute_specs = PERSON_ATTRIBUTES
