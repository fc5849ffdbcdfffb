"""Eastron SDM630 (v2), SDM120 and SDM72D: input registers (FC04), float32 high word first.

Map source: Eastron's "SDM630 Modbus protocol" v1.8/v2.0, "SDM120 Modbus protocol" v2.5 and
the SDM72D manual, as transcribed and polled by consumers: volkszaehler/mbmd
(meters/rs485/sdm.go, sdm120.go, sdm72.go: one FC04 read per value) and nmakel/sdm_modbus
(sdm.py: reads each batch as ONE block from its first to its last register, across the
reserved registers between, e.g. SDM630 0x0000..0x004F in 80 registers; `ranges` are those
blocks, so each batch answers whole). Every value is an
IEEE 754 float32, high word first, in the units below (energy in kWh). Unit id 1 is the
meters' default.

Reserved registers inside the documented blocks read as 0 (the table serves every address of
`ranges`); an address outside them answers IllegalDataAddress (02). Not confirmed here: what
a real meter answers for reserved registers (0 is assumed; consumers skip them) and the
holding registers (FC03: settings such as the modbus address and baud rate), which these
profiles do not serve (02). Sign: import positive (power and energy), as the meters count.

Preset `growatt`: a Growatt MIC/TL-X with export limitation polls the SDM630 at unit 2 for
register 52 (0x0034, total system power) only (EmbedME/growatt_simulate_sdm630, which also
feeds export as a positive value: check the sign on the inverter and set `invert_power`).
"""

from __future__ import annotations

from typing import Final

from ..modbus.area import Area
from ..registermap import DataType
from .model import Identity, Measure, Preset, Profile, Quantity, Row, Slot, derived

_KWH: Final = 0.001  # slot Wh -> wire kWh
_PHASES: Final = ("l1", "l2", "l3")


def _f32(address: int, name: str, source: Measure) -> Row:
    return Row(address=address, name=name, data_type=DataType.FLOAT32, source=source)


def _m(slot: str, *fallback: str, mean: bool = False, factor: float = 1.0) -> Measure:
    return Measure(slot, factor, fallback, "mean" if mean else "sum")


def _phases(slot: str) -> tuple[str, ...]:
    return tuple(f"{slot}_{p}" for p in _PHASES)


def _slots(*names: tuple[str, Quantity], required: str = "power") -> tuple[Slot, ...]:
    signed = {Quantity.POWER, Quantity.REACTIVE_POWER}
    return tuple(
        Slot(name, quantity, required=name == required, signed=quantity in signed)
        for name, quantity in names
    )


def _per_phase(name: str, quantity: Quantity) -> list[tuple[str, Quantity]]:
    return [(name, quantity), *((f"{name}_{p}", quantity) for p in _PHASES)]


THREE_PHASE_SLOTS: Final = _slots(
    *_per_phase("power", Quantity.POWER),
    *_per_phase("current", Quantity.CURRENT)[1:],
    *_per_phase("voltage", Quantity.VOLTAGE),
    ("voltage_l1_l2", Quantity.VOLTAGE),
    ("voltage_l2_l3", Quantity.VOLTAGE),
    ("voltage_l3_l1", Quantity.VOLTAGE),
    *_per_phase("apparent_power", Quantity.APPARENT_POWER),
    *_per_phase("reactive_power", Quantity.REACTIVE_POWER),
    *_per_phase("power_factor", Quantity.POWER_FACTOR),
    ("frequency", Quantity.FREQUENCY),
    *_per_phase("energy_import", Quantity.ENERGY),
    *_per_phase("energy_export", Quantity.ENERGY),
)


def _three_phase_rows() -> list[Row]:
    """SDM630 v2 input registers (SDM72D shares the layout, see its profile)."""
    rows: list[Row] = []
    for base, slot in (
        (0x0000, "voltage"),
        (0x0006, "current"),
        (0x000C, "power"),
        (0x0012, "apparent_power"),
        (0x0018, "reactive_power"),
        (0x001E, "power_factor"),
    ):
        for offset, phase in enumerate(_phases(slot)):
            rows.append(_f32(base + 2 * offset, phase, _m(phase)))
    voltage, current = _phases("voltage"), _phases("current")
    power = _phases("power")
    rows += [
        _f32(0x002A, "voltage_ln_average", _m("voltage", *voltage, mean=True)),
        _f32(0x002E, "current_average", derived(*current, mean=True)),
        _f32(0x0030, "current_sum", derived(*current)),
        _f32(0x0034, "power", _m("power", *power)),
        _f32(0x0038, "apparent_power", _m("apparent_power", *_phases("apparent_power"))),
        _f32(0x003C, "reactive_power", _m("reactive_power", *_phases("reactive_power"))),
        _f32(0x003E, "power_factor", _m("power_factor", *_phases("power_factor"), mean=True)),
        _f32(0x0046, "frequency", _m("frequency")),
        _f32(0x0048, "energy_import", _m("energy_import", *_phases("energy_import"), factor=_KWH)),
        _f32(0x004A, "energy_export", _m("energy_export", *_phases("energy_export"), factor=_KWH)),
    ]
    lines = ("voltage_l1_l2", "voltage_l2_l3", "voltage_l3_l1")
    for offset, line in enumerate(lines):
        rows.append(_f32(0x00C8 + 2 * offset, line, _m(line)))
    rows.append(_f32(0x00CE, "voltage_ll_average", derived(*lines, mean=True)))
    rows.append(
        _f32(0x0156, "energy_total", derived("energy_import", "energy_export", factor=_KWH))
    )
    for base, slot in ((0x015A, "energy_import"), (0x0160, "energy_export")):
        for offset, phase in enumerate(_phases(slot)):
            rows.append(_f32(base + 2 * offset, phase, _m(phase, factor=_KWH)))
    for offset, phase in enumerate(_PHASES):
        both = (f"energy_import_{phase}", f"energy_export_{phase}")
        rows.append(_f32(0x0166 + 2 * offset, f"energy_total_{phase}", derived(*both, factor=_KWH)))
    return rows


SDM630: Final = Profile(
    key="eastron_sdm630",
    name="Eastron SDM630",
    consumers=(
        "Growatt and other inverters and batteries that accept an SDM630, evcc/mbmd "
        "(Modbus RTU through a gateway or TCP, input registers, unit 1; Growatt: unit 2)"
    ),
    slots=THREE_PHASE_SLOTS,
    rows=tuple(_three_phase_rows()),
    areas=(Area.INPUT_REGISTER,),
    ranges=((0x0000, 0x006B), (0x00C8, 0x010D), (0x014E, 0x017D)),
    identity=Identity(manufacturer="Eastron", model="SDM630"),
    presets=(Preset("growatt", "Growatt inverter (export limitation)", 2),),
)

SDM72D: Final = Profile(
    key="eastron_sdm72d",
    name="Eastron SDM72D",
    consumers=(
        "inverters and chargers that support an SDM72D (input registers, unit 1); mbmd reads "
        "0x0034 power, 0x0048/0x004A import/export and 0x0156 total"
    ),
    slots=THREE_PHASE_SLOTS,
    rows=(
        *(row for row in _three_phase_rows() if row.address <= 0x00CF or row.address == 0x0156),
        # total import / export active power (sdm_modbus SDM72): the two parts of the total
        _f32(0x0500, "import_power", Measure("power", 1.0, _phases("power"), "positive")),
        _f32(0x0502, "export_power", Measure("power", 1.0, _phases("power"), "negative")),
    ),
    areas=(Area.INPUT_REGISTER,),
    ranges=((0x0000, 0x004F), (0x00C8, 0x00E1), (0x0156, 0x018D), (0x0500, 0x0503)),
    identity=Identity(manufacturer="Eastron", model="SDM72D"),
)

SINGLE_PHASE_SLOTS: Final = _slots(
    ("power", Quantity.POWER),
    ("current", Quantity.CURRENT),
    ("voltage", Quantity.VOLTAGE),
    ("apparent_power", Quantity.APPARENT_POWER),
    ("reactive_power", Quantity.REACTIVE_POWER),
    ("power_factor", Quantity.POWER_FACTOR),
    ("frequency", Quantity.FREQUENCY),
    ("energy_import", Quantity.ENERGY),
    ("energy_export", Quantity.ENERGY),
)

SDM120: Final = Profile(
    key="eastron_sdm120",
    name="Eastron SDM120",
    consumers="single-phase inverters, chargers and evcc (input registers, unit 1)",
    slots=SINGLE_PHASE_SLOTS,
    rows=(
        _f32(0x0000, "voltage", _m("voltage")),
        _f32(0x0006, "current", _m("current")),
        _f32(0x000C, "power", _m("power")),
        _f32(0x0012, "apparent_power", _m("apparent_power")),
        _f32(0x0018, "reactive_power", _m("reactive_power")),
        _f32(0x001E, "power_factor", _m("power_factor")),
        _f32(0x0046, "frequency", _m("frequency")),
        _f32(0x0048, "energy_import", _m("energy_import", factor=_KWH)),
        _f32(0x004A, "energy_export", _m("energy_export", factor=_KWH)),
        _f32(0x0156, "energy_total", derived("energy_import", "energy_export", factor=_KWH)),
    ),
    areas=(Area.INPUT_REGISTER,),
    ranges=((0x0000, 0x005F), (0x0102, 0x0109), (0x0156, 0x0159)),
    identity=Identity(manufacturer="Eastron", model="SDM120"),
)

PROFILES: Final = {profile.key: profile for profile in (SDM630, SDM120, SDM72D)}
