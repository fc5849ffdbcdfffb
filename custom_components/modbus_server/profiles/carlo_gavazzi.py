"""Carlo Gavazzi EM24 (Ethernet) as a Victron GX polls it over Modbus TCP.

Map source: Carlo Gavazzi's EM24 Ethernet communication protocol as the consumers read it:
victronenergy/dbus-modbus-client carlo_gavazzi.py (the GX: model code 0x000B, 1648..1653;
hardware/firmware 0x0302/0x0304 decoded major.minor.patch as v>>12, v>>8 & 0xF, v & 0xFF;
phase configuration 0x1002, 0 = '3P.n' for three phases, which the GX may write 0..4; serial
0x5000, 7 registers of ASCII; application 0xA000, which the GX sets to 7 ('H') and reads
back; switch position 0xA100, 3 = 'Locked'; signed 32-bit values low word first: voltages
x10, currents x1000, powers x10, energies kWh x10; frequency uint16 x10) and volkszaehler/mbmd
carlogavazzi-em24_e1.go (the same registers with FC04; power factors int16 x1000 at
0x002E..0x0031). The GX reads holding registers (FC03), mbmd input registers (FC04): both
answer the same values. The GX tries each of its drivers' model registers in turn, so a
wrong code at 0x000B makes it detect another device: the model code must be one of its list.

Written values are kept for the phase configuration (0..4) and the application (0..7), and
refused with IllegalDataValue (03) outside; every other register refuses writes with
IllegalDataAddress (02) (not confirmed against a real EM24). 0x0006..0x000A (line-line
voltages in the vendor's table) and the other gaps of 0x0000..0x004F read 0. Unit id 1.
Sign: import positive.
"""

from __future__ import annotations

from typing import Final

from ..modbus.area import Area
from ..registermap import DataType, WordOrder
from .model import (
    Const,
    FromIdentity,
    Held,
    Identity,
    Measure,
    Preset,
    Profile,
    Quantity,
    Row,
    Slot,
)

MODEL_CODES: Final = {
    1648: "EM24DINAV23XE1X",
    1649: "EM24DINAV23XE1PFA",
    1650: "EM24DINAV23XE1PFB",
    1651: "EM24DINAV53XE1X",
    1652: "EM24DINAV53XE1PFA",
    1653: "EM24DINAV53XE1PFB",
}
APPLICATION_H: Final = 7
_PHASES: Final = ("l1", "l2", "l3")
_KWH: Final = 0.001


def encode_version(text: str) -> int:
    """'1.8.3' -> 0x1803, the register the GX decodes as major.minor.patch."""
    parts = [int(part) if part.isdigit() else 0 for part in text.split(".")[:3]]
    major, minor, patch = [*parts, 0, 0, 0][:3]
    return (major & 0xF) << 12 | (minor & 0xF) << 8 | (patch & 0xFF)


def _s32(address: int, name: str, source: Measure, scale: float) -> Row:
    return Row(
        address=address,
        name=name,
        data_type=DataType.INT32,
        word_order=WordOrder.LITTLE,
        source=source,
        scale=scale,
    )


def _u16(address: int, name: str, source: Const | FromIdentity | Held) -> Row:
    return Row(address=address, name=name, data_type=DataType.UINT16, source=source)


def _phased(address: int, slot: str, scale: float, factor: float = 1.0) -> list[Row]:
    return [
        _s32(address + 2 * i, f"{slot}_{p}", Measure(f"{slot}_{p}", factor), scale)
        for i, p in enumerate(_PHASES)
    ]


def _rows() -> list[Row]:
    powers = tuple(f"power_{p}" for p in _PHASES)
    factors = tuple(f"power_factor_{p}" for p in _PHASES)
    imports = tuple(f"energy_import_{p}" for p in _PHASES)
    rows = _phased(0x0000, "voltage", 0.1)
    rows.append(_u16(0x000B, "model_code", Const(1648)))
    rows += _phased(0x000C, "current", 0.001)
    rows += _phased(0x0012, "power", 0.1)
    rows.append(_s32(0x0028, "power", Measure("power", 1.0, powers), 0.1))
    for i, (name, slot) in enumerate(
        [*((f, f) for f in factors), ("power_factor", "power_factor")]
    ):
        source = Measure(slot, 1.0, factors, "mean") if name == "power_factor" else Measure(slot)
        rows.append(
            Row(address=0x002E + i, name=name, data_type=DataType.INT16, source=source, scale=0.001)
        )
    rows.append(
        Row(address=0x0032, name="phase_sequence", data_type=DataType.INT16, source=Const(0))
    )
    rows.append(
        Row(
            address=0x0033,
            name="frequency",
            data_type=DataType.UINT16,
            source=Measure("frequency"),
            scale=0.1,
        )
    )
    rows.append(_s32(0x0034, "energy_import", Measure("energy_import", _KWH, imports), 0.1))
    rows += _phased(0x0040, "energy_import", 0.1, _KWH)
    rows.append(_s32(0x004E, "energy_export", Measure("energy_export", _KWH), 0.1))
    rows += [
        _u16(0x0302, "hardware_version", FromIdentity("version", encode_version)),
        _u16(0x0304, "firmware_version", FromIdentity("version", encode_version)),
        _u16(0x1002, "phase_config", Held(0, (0, 4))),
        Row(
            address=0x5000,
            name="serial",
            data_type=DataType.STRING,
            length=7,
            source=FromIdentity("serial"),
            missing="",
        ),
        _u16(0xA000, "application", Held(APPLICATION_H, (0, 7))),
        _u16(0xA100, "switch_position", Const(3)),
    ]
    return rows


def _slots() -> tuple[Slot, ...]:
    out = [Slot("power", Quantity.POWER, required=True, signed=True)]
    for name, quantity in (
        ("power", Quantity.POWER),
        ("current", Quantity.CURRENT),
        ("voltage", Quantity.VOLTAGE),
        ("power_factor", Quantity.POWER_FACTOR),
        ("energy_import", Quantity.ENERGY),
    ):
        out += [Slot(f"{name}_{p}", quantity, signed=quantity is Quantity.POWER) for p in _PHASES]
    out += [
        Slot("power_factor", Quantity.POWER_FACTOR),
        Slot("frequency", Quantity.FREQUENCY),
        Slot("energy_import", Quantity.ENERGY),
        Slot("energy_export", Quantity.ENERGY),
    ]
    return tuple(out)


EM24: Final = Profile(
    key="carlo_gavazzi_em24",
    name="Carlo Gavazzi EM24 (Ethernet)",
    consumers="Victron GX (Cerbo, Venus OS) grid meter over Modbus TCP, unit 1; evcc/mbmd",
    slots=_slots(),
    rows=tuple(_rows()),
    areas=(Area.HOLDING_REGISTER, Area.INPUT_REGISTER),
    ranges=(
        (0x0000, 0x004F),
        (0x0302, 0x0305),
        (0x1002, 0x1002),
        (0x5000, 0x5006),
        (0xA000, 0xA000),
        (0xA100, 0xA100),
    ),
    identity=Identity(
        manufacturer="Carlo Gavazzi", model=MODEL_CODES[1648], serial="HA0000001", version="1.8.3"
    ),
    presets=(
        Preset(
            "victron_gx",
            "Victron GX",
            1,
            {"model_code": 1648},
            "GX device: Settings > Energy meters > Modbus TCP device at this server",
        ),
    ),
)

PROFILES: Final = {EM24.key: EM24}
