"""What a profile declares: slots, rows and where their values come from, presets.

A profile is plain data. Its *slots* are the measurements a user binds to entities (each with a
quantity, so a UI can offer matching entities and convert their units); its *rows* are the
registers of the vendor's map, each fed from a slot, a constant, the device's identity or a
register that keeps what a consumer writes. `compile.py` turns a profile into a `RegisterMap`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from ..modbus.area import Area
from ..registermap import ByteOrder, DataType, WordOrder


class Quantity(StrEnum):
    """What a slot measures; the value is the base unit slot values are given in."""

    POWER = "W"
    REACTIVE_POWER = "var"
    APPARENT_POWER = "VA"
    ENERGY = "Wh"
    VOLTAGE = "V"
    CURRENT = "A"
    FREQUENCY = "Hz"
    POWER_FACTOR = "PF"
    """A ratio from -1 to 1 (a percentage entity is converted)."""
    TEMPERATURE = "°C"
    STATE = "state"
    """A number from the profile's own enumeration (e.g. SunSpec inverter states)."""


@dataclass(frozen=True, slots=True)
class Slot:
    """A measurement the profile needs; `signed` slots follow the sign convention option."""

    name: str
    quantity: Quantity
    required: bool = False
    signed: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Measure:
    """A row fed from a slot: wire value = slot value x factor (e.g. Wh -> kWh: 0.001).

    When the slot is not bound and every `fallback` slot is, the row serves their sum (or
    mean, or the first minus the others): a total derived from the phases, a net energy.
    "positive"/"negative" serve the import or export part of a signed value (0 otherwise).
    Slot "" is no slot: the row is only derived.
    """

    slot: str
    factor: float = 1.0
    fallback: tuple[str, ...] = ()
    combine: Literal["sum", "mean", "difference", "positive", "negative"] = "sum"


def derived(*slots: str, factor: float = 1.0, mean: bool = False) -> Measure:
    """A row that is always the sum (or mean) of `slots`, missing unless all are bound."""
    return Measure("", factor, slots, "mean" if mean else "sum")


@dataclass(frozen=True, slots=True)
class Const:
    """A fixed value from the vendor's map (a model code, a marker, a length)."""

    value: int | float | str


@dataclass(frozen=True, slots=True)
class FromIdentity:
    """A row from the device's identity; `encode` turns the text into the row's value."""

    field: Literal["manufacturer", "model", "serial", "version", "unit_id"]
    encode: Callable[[str], int | float | str] | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """A holding register that accepts writes of `accept` (inclusive) and keeps them."""

    initial: int
    accept: tuple[int, int] = (0, 0xFFFF)


@dataclass(frozen=True, slots=True)
class Missing:
    """A point the profile does not serve: always the row's missing value."""


type Source = Measure | Const | FromIdentity | Held | Missing


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One value of the vendor's map: its place, encoding and source.

    `missing` is the engineering value a row reads as while its slot is not bound (None: the
    type's 'no value' pattern: NaN, 0x8000, 0xFFFF, 0x80000000, 0xFFFFFFFF, empty text).
    """

    address: int
    name: str
    data_type: DataType
    source: Source
    scale: float = 1.0
    word_order: WordOrder = WordOrder.BIG
    byte_order: ByteOrder = ByteOrder.BIG
    length: int | None = None
    missing: float | str | None = 0.0
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the device says it is; rows of `FromIdentity` read these."""

    manufacturer: str = "Home Assistant"
    model: str = ""
    serial: str = "00000001"
    version: str = "1.0.0"


@dataclass(frozen=True, slots=True)
class Preset:
    """A consumer's settings: the unit id it polls and constants it needs (row name -> value)."""

    key: str
    name: str
    unit_id: int
    overrides: Mapping[str, int | float | str] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A device's register map as a consumer polls it.

    `ranges` are the blocks (first, last address, inclusive) the real device answers: an
    address inside one that no row covers reads as 0, as the vendor's device reads its
    reserved registers; an address outside every range answers IllegalDataAddress (02).
    Every row is served in each of `areas`; `Held` rows accept writes only as holding
    registers, every other row refuses writes with 02.
    """

    key: str
    name: str
    consumers: str
    slots: tuple[Slot, ...]
    rows: tuple[Row, ...]
    areas: tuple[Area, ...]
    ranges: tuple[tuple[int, int], ...]
    unit_id: int = 1
    identity: Identity = Identity()
    presets: tuple[Preset, ...] = ()

    def slot(self, name: str) -> Slot:
        """The slot called `name` (KeyError when the profile has none)."""
        for slot in self.slots:
            if slot.name == name:
                return slot
        raise KeyError(name)

    def preset(self, key: str) -> Preset:
        """The preset called `key` (KeyError when the profile has none)."""
        for preset in self.presets:
            if preset.key == key:
                return preset
        raise KeyError(key)
