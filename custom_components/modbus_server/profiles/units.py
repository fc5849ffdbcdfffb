"""Entity units -> a slot's base unit (W, Wh, V, A, Hz, PF ratio, var, VA, °C)."""

from __future__ import annotations

from typing import Final

from .model import Quantity

FACTORS: Final[dict[Quantity, dict[str, float]]] = {
    Quantity.POWER: {"W": 1.0, "kW": 1e3, "MW": 1e6},
    Quantity.REACTIVE_POWER: {"var": 1.0, "kvar": 1e3},
    Quantity.APPARENT_POWER: {"VA": 1.0, "kVA": 1e3},
    Quantity.ENERGY: {"Wh": 1.0, "kWh": 1e3, "MWh": 1e6},
    Quantity.VOLTAGE: {"V": 1.0, "mV": 1e-3, "kV": 1e3},
    Quantity.CURRENT: {"A": 1.0, "mA": 1e-3},
    Quantity.FREQUENCY: {"Hz": 1.0},
    Quantity.POWER_FACTOR: {"": 1.0, "%": 0.01},
    Quantity.TEMPERATURE: {"°C": 1.0},
    Quantity.STATE: {"": 1.0},
}
"""Multiplier from each accepted unit to the quantity's base unit."""


def to_base_unit(value: float, unit: str | None, quantity: Quantity) -> float:
    """Convert an entity's value to the slot's base unit; ValueError names the accepted units."""
    units = FACTORS[quantity]
    factor = units.get(unit or "")
    if factor is None:
        raise ValueError(
            f"unit {unit!r} cannot feed a {quantity.name.lower()} slot; "
            f"use one of {', '.join(repr(u) for u in units)}"
        )
    return value * factor
