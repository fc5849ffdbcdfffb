"""1-based PLC reference notation (00001 / 10001 / 30001 / 40001) <-> area + 0-based address.

The wire carries 0-based addresses; PLC and SCADA documentation uses the "Modicon"
references where the first digit names the table and the rest is the 1-based register
number. The classic 5-digit form reaches register 9999 (address 9998); beyond that the
6-digit form (400001 ... 465536) is used, so every address has exactly one canonical
reference.
"""

from __future__ import annotations

from typing import Final

from ..modbus.area import Area

PREFIXES: Final[dict[Area, int]] = {
    Area.COIL: 0,
    Area.DISCRETE_INPUT: 1,
    Area.INPUT_REGISTER: 3,
    Area.HOLDING_REGISTER: 4,
}
_AREAS_BY_PREFIX: Final[dict[int, Area]] = {v: k for k, v in PREFIXES.items()}

_FIVE_DIGIT_MAX: Final = 9999


def plc_address(area: Area, address: int) -> int:
    """Return the PLC reference as a number (coils: 1 for 00001, 10001 stays 10001)."""
    number = address + 1
    if number <= _FIVE_DIGIT_MAX:
        return PREFIXES[area] * 10_000 + number
    return PREFIXES[area] * 100_000 + number


def format_plc_address(area: Area, address: int) -> str:
    """Return the PLC reference for display, zero padded: '00001', '40001', '465536'."""
    width = 5 if address + 1 <= _FIVE_DIGIT_MAX else 6
    return f"{plc_address(area, address):0{width}d}"


def parse_plc_address(text: str) -> tuple[Area, int]:
    """Parse a 5- or 6-digit PLC reference into (area, 0-based address).

    Shorter numbers are coils whose leading zeros were lost (spreadsheets do that), so '1'
    means 00001. ValueError explains what is wrong.
    """
    text = text.strip()
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"PLC address {text!r} must be digits, e.g. 40001 or 400001")
    if len(text) > 6:
        raise ValueError(f"PLC address {text!r} has more than 6 digits")
    if len(text) < 5:
        text = text.rjust(5, "0")
    prefix, number = int(text[0]), int(text[1:])
    area = _AREAS_BY_PREFIX.get(prefix)
    if area is None:
        raise ValueError(
            f"PLC address {text!r} starts with {prefix}; use 0 (coil), 1 (discrete input), "
            "3 (input register) or 4 (holding register)"
        )
    limit = _FIVE_DIGIT_MAX if len(text) == 5 else 65_536
    if not 1 <= number <= limit:
        raise ValueError(f"PLC address {text!r}: register number must be 1..{limit}")
    return area, number - 1
