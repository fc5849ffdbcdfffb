"""The four Modbus data areas."""

from __future__ import annotations

from enum import StrEnum


class Area(StrEnum):
    """A Modbus data area; the value is the stable name used in config and CSV."""

    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"
    HOLDING_REGISTER = "holding_register"
    INPUT_REGISTER = "input_register"

    @property
    def is_bit(self) -> bool:
        """Coils and discrete inputs hold bits; the others hold 16-bit registers."""
        return self in (Area.COIL, Area.DISCRETE_INPUT)

    @property
    def is_writable(self) -> bool:
        """Only coils and holding registers are targeted by write function codes."""
        return self in (Area.COIL, Area.HOLDING_REGISTER)
