"""Chint DTSU666 and the Huawei DTSU666-H: holding registers (FC03), float32 high word first.

DTSU666 map source: Chint's DTSU666 user manual as transcribed by volkszaehler/mbmd
(meters/rs485/dtsu666.go: 0x2006.. voltages /10, 0x200C.. currents /1000, 0x2012.. powers
/10, 0x202A.. power factors /1000, 0x2044 frequency /100, 0x101E.. energies in kWh) and by
gerontec/dtsu666 (0x2000 line voltages, 0x401E import and 0x4028 export in kWh). Its readers
fetch 0x2000 x82 and 0x401E x60 in single requests (salakrzy and s-marian
DTSU666_CHINT_to_HUAWEI_translator: CHINT_START_REG_1/2), so both blocks answer whole; the
0x101E copy mbmd reads is served too. Not confirmed here: 0x2022..0x2029 (apparent power in
one translator's table) and the per-phase layout at 0x4020/0x402A (taken from mbmd's
0x1020/0x102A offsets); the former reads 0.

DTSU666-H map source: what a Huawei SUN2000 reads, from the translators above (it reads
0x07D1 x1 and treats 0x3B11 as 'meter present', 0x3F80 on old firmware (newer firmware
given 0x3F80 goes on to read 0x0003, which is not served: 02); then 0x0836 x80 and,
now and then, 0x08A6 x10, which the translators answer with zeros) and a SUN2000 <-> DTSU666-H
bus log (eydam-prototyping/mp_modbus test/HUAWEI-SUN-2000/2021-08-01_HUAWEI-Log.csv). The log
fixes the 40 floats at 0x0836 (2102): currents, mean and phase voltages, mean and line
voltages, frequency, active/reactive/apparent power (total, phases), power factors, then net
(import - export), import and export energy (total, phases) in kWh; its frames check by hand,
e.g. 2158 net 123.5 = 2166 import 145.76 - 2174 export 22.26 (Tasmota's xnrg_26_dtsu666h
reads 2166/2174 as import/export). Unit 11 is Huawei's default address for the meter.
Sign: import positive, as the meters count.
"""

from __future__ import annotations

from typing import Final

from ..modbus.area import Area
from ..registermap import DataType
from .model import (
    Const,
    Identity,
    Measure,
    Preset,
    Profile,
    Quantity,
    Row,
    Slot,
    derived,
)

_PHASES: Final = ("l1", "l2", "l3")
_LINES: Final = ("l1_l2", "l2_l3", "l3_l1")
_KWH: Final = 0.001


def _names(slot: str, suffixes: tuple[str, ...] = _PHASES) -> tuple[str, ...]:
    return tuple(f"{slot}_{s}" for s in suffixes)


def _slots() -> tuple[Slot, ...]:
    signed = {Quantity.POWER, Quantity.REACTIVE_POWER}
    out: list[Slot] = []
    for name, quantity, total, suffixes in (
        ("power", Quantity.POWER, True, _PHASES),
        ("reactive_power", Quantity.REACTIVE_POWER, True, _PHASES),
        ("apparent_power", Quantity.APPARENT_POWER, True, _PHASES),
        ("power_factor", Quantity.POWER_FACTOR, True, _PHASES),
        ("current", Quantity.CURRENT, False, _PHASES),
        ("voltage", Quantity.VOLTAGE, True, _PHASES),
        ("voltage", Quantity.VOLTAGE, False, _LINES),
        ("energy_import", Quantity.ENERGY, True, _PHASES),
        ("energy_export", Quantity.ENERGY, True, _PHASES),
    ):
        names = ((name,) if total else ()) + _names(name, suffixes)
        out += [Slot(n, quantity, required=n == "power", signed=quantity in signed) for n in names]
    out.append(Slot("frequency", Quantity.FREQUENCY))
    return tuple(out)


SLOTS: Final = _slots()


def _f32(address: int, name: str, source: Measure, scale: float = 1.0) -> Row:
    return Row(address=address, name=name, data_type=DataType.FLOAT32, source=source, scale=scale)


def _group(address: int, slot: str, scale: float, *, total: bool, mean: bool = False) -> list[Row]:
    phases = _names(slot)
    rows = []
    if total:
        rows.append(
            _f32(address, slot, Measure(slot, 1.0, phases, "mean" if mean else "sum"), scale)
        )
        address += 2
    for offset, phase in enumerate(phases):
        rows.append(_f32(address + 2 * offset, phase, Measure(phase), scale))
    return rows


def _energy(address: int, slot: str, name: str) -> list[Row]:
    phases = _names(slot)
    rows = [_f32(address, name, Measure(slot, _KWH, phases))]
    rows += [
        _f32(address + 2 + 2 * offset, f"{name}_{p}", Measure(phase, _KWH))
        for offset, (p, phase) in enumerate(zip(_PHASES, phases, strict=True))
    ]
    return rows


def _dtsu666_rows() -> list[Row]:
    rows: list[Row] = []
    for offset, line in enumerate(_names("voltage", _LINES)):
        rows.append(_f32(0x2000 + 2 * offset, line, Measure(line), 0.1))
    rows += _group(0x2006, "voltage", 0.1, total=False)
    rows += _group(0x200C, "current", 0.001, total=False)
    rows += _group(0x2012, "power", 0.1, total=True)
    rows += _group(0x201A, "reactive_power", 0.1, total=True)
    rows += _group(0x202A, "power_factor", 0.001, total=True, mean=True)
    rows.append(_f32(0x2044, "frequency", Measure("frequency"), 0.01))
    for base, prefix in ((0x401E, ""), (0x101E, "copy_")):
        rows += _energy(base, "energy_import", f"{prefix}energy_import")
        rows += _energy(base + 0x0A, "energy_export", f"{prefix}energy_export")
    return rows


DTSU666: Final = Profile(
    key="chint_dtsu666",
    name="Chint DTSU666",
    consumers=(
        "inverters and batteries that ship with a DTSU666 (e.g. Growatt, Hoymiles), "
        "translators and mbmd (Modbus RTU or TCP, holding registers, unit 1)"
    ),
    slots=SLOTS,
    rows=tuple(_dtsu666_rows()),
    areas=(Area.HOLDING_REGISTER,),
    ranges=((0x2000, 0x2051), (0x401E, 0x4059), (0x101E, 0x102F)),
    identity=Identity(manufacturer="Chint", model="DTSU666"),
)

DETECTION: Final = 0x07D1
PRESENT: Final = 0x3B11
PRESENT_OLD_FIRMWARE: Final = 0x3F80


def _huawei_rows() -> list[Row]:
    voltages, lines = _names("voltage"), _names("voltage", _LINES)
    rows = [
        Row(address=DETECTION, name="detection", data_type=DataType.UINT16, source=Const(PRESENT))
    ]
    rows += [_f32(0x0836 + 2 * i, c, Measure(c)) for i, c in enumerate(_names("current"))]
    rows.append(_f32(0x083C, "voltage", Measure("voltage", 1.0, voltages, "mean")))
    rows += [_f32(0x083E + 2 * i, v, Measure(v)) for i, v in enumerate(voltages)]
    rows.append(_f32(0x0844, "voltage_ll", derived(*lines, mean=True)))
    rows += [_f32(0x0846 + 2 * i, v, Measure(v)) for i, v in enumerate(lines)]
    rows.append(_f32(0x084C, "frequency", Measure("frequency")))
    rows += _group(0x084E, "power", 1.0, total=True)
    rows += _group(0x0856, "reactive_power", 1.0, total=True)
    rows += _group(0x085E, "apparent_power", 1.0, total=True)
    rows += _group(0x0866, "power_factor", 1.0, total=True, mean=True)
    net = [("energy_net", ("energy_import", "energy_export"))] + [
        (f"energy_net_{p}", (f"energy_import_{p}", f"energy_export_{p}")) for p in _PHASES
    ]
    for offset, (name, (imported, exported)) in enumerate(net):
        rows.append(
            _f32(0x086E + 2 * offset, name, Measure("", _KWH, (imported, exported), "difference"))
        )
    rows += _energy(0x0876, "energy_import", "energy_import")
    rows += _energy(0x087E, "energy_export", "energy_export")
    return rows


DTSU666_H: Final = Profile(
    key="huawei_dtsu666h",
    name="Huawei DTSU666-H",
    consumers=(
        "Huawei SUN2000 inverters and the SmartLogger (Modbus RTU, holding registers, unit 11)"
    ),
    slots=SLOTS,
    rows=tuple(_huawei_rows()),
    areas=(Area.HOLDING_REGISTER,),
    ranges=((DETECTION, DETECTION), (0x0836, 0x0885), (0x08A6, 0x08AF)),
    unit_id=11,
    identity=Identity(manufacturer="Huawei", model="DTSU666-H"),
    presets=(
        Preset("huawei_sun2000", "Huawei SUN2000", 11),
        Preset(
            "huawei_sun2000_old_firmware",
            "Huawei SUN2000 (old firmware)",
            11,
            {"detection": PRESENT_OLD_FIRMWARE},
            "older firmware expects 0x3F80 at 0x07D1",
        ),
    ),
)

PROFILES: Final = {profile.key: profile for profile in (DTSU666, DTSU666_H)}
