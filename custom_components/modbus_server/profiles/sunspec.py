"""SunSpec: common model 1, then a meter (201/203/211/213) or inverter (101/103/111/113) model.

Map source: the SunSpec Alliance information models (github.com/sunspec/models, model_1,
model_101 ... model_213 JSON; the same definitions pysunspec2 ships and the tests decode with).
The chain starts at holding register 40000 with the marker 'SunS', then model 1 (ID 1, length
66), then the device model (ID, length L, L registers), then the end marker ID 0xFFFF with
length 0. Scanners probe base 40000, 0 and 50000 in turn (pysunspec2's base_addr_list): 0
and 50000 answer IllegalDataAddress (02) at once, on the same connection.

Integer models carry fixed scale factors (A -2, V -1, Hz -2, W/VA/var 0, PF -1, Wh 0,
temperature -1): a W value outside -32767..32767 cannot be encoded and that read answers
ServerDeviceFailure (04); sites above 32 kW use the float models (111/113/211/213). PF is a
percentage in the models whose unit is 'Pct' (101/103/111/113/201/203) and a ratio in 211/213.
A point without a bound slot reads as SunSpec's 'not implemented' value: 0x8000 (int16,
sunssf, pad), 0xFFFF (uint16, enum16), 0xFFFFFFFF (bitfield32), 0 (acc32), NaN (float32), an
empty string; a total with unbound total but bound phases is their sum (voltages: mean).
Sign: meters count import from the grid positive; inverters count production positive.
"""

from __future__ import annotations

from typing import Final

from ..modbus.area import Area
from ..registermap import DataType
from .model import (
    Const,
    FromIdentity,
    Identity,
    Measure,
    Missing,
    Profile,
    Quantity,
    Row,
    Slot,
)

BASE: Final = 40000
MARKER: Final = "SunS"
COMMON_LENGTH: Final = 66
END_ID: Final = 0xFFFF

SCALE_FACTORS: Final[dict[str, int]] = {
    "A_SF": -2,
    "V_SF": -1,
    "Hz_SF": -2,
    "W_SF": 0,
    "VA_SF": 0,
    "VAR_SF": 0,
    "VAr_SF": 0,
    "PF_SF": -1,
    "TotWh_SF": 0,
    "TotVAh_SF": 0,
    "TotVArh_SF": 0,
    "WH_SF": 0,
    "DCA_SF": -2,
    "DCV_SF": -1,
    "DCW_SF": 0,
    "Tmp_SF": -1,
}

# name:type[:scale factor] of every point after ID and L, in register order (SunSpec models).
_POINTS: Final[dict[int, str]] = {
    101: (
        "A:uint16:A_SF AphA:uint16:A_SF AphB:uint16:A_SF AphC:uint16:A_SF A_SF:sunssf "
        "PPVphAB:uint16:V_SF PPVphBC:uint16:V_SF PPVphCA:uint16:V_SF PhVphA:uint16:V_SF "
        "PhVphB:uint16:V_SF PhVphC:uint16:V_SF V_SF:sunssf W:int16:W_SF W_SF:sunssf "
        "Hz:uint16:Hz_SF Hz_SF:sunssf VA:int16:VA_SF VA_SF:sunssf VAr:int16:VAr_SF VAr_SF:sunssf "
        "PF:int16:PF_SF PF_SF:sunssf WH:acc32:WH_SF WH_SF:sunssf DCA:uint16:DCA_SF DCA_SF:sunssf "
        "DCV:uint16:DCV_SF DCV_SF:sunssf DCW:int16:DCW_SF DCW_SF:sunssf TmpCab:int16:Tmp_SF "
        "TmpSnk:int16:Tmp_SF TmpTrns:int16:Tmp_SF TmpOt:int16:Tmp_SF Tmp_SF:sunssf St:enum16 "
        "StVnd:enum16 Evt1:bitfield32 Evt2:bitfield32 EvtVnd1:bitfield32 EvtVnd2:bitfield32 "
        "EvtVnd3:bitfield32 EvtVnd4:bitfield32 "
    ),
    111: (
        "A:float32 AphA:float32 AphB:float32 AphC:float32 PPVphAB:float32 PPVphBC:float32 "
        "PPVphCA:float32 PhVphA:float32 PhVphB:float32 PhVphC:float32 W:float32 Hz:float32 "
        "VA:float32 VAr:float32 PF:float32 WH:float32 DCA:float32 DCV:float32 DCW:float32 "
        "TmpCab:float32 TmpSnk:float32 TmpTrns:float32 TmpOt:float32 St:enum16 StVnd:enum16 "
        "Evt1:bitfield32 Evt2:bitfield32 EvtVnd1:bitfield32 EvtVnd2:bitfield32 EvtVnd3:bitfield32 "
        "EvtVnd4:bitfield32 "
    ),
    201: (
        "A:int16:A_SF AphA:int16:A_SF AphB:int16:A_SF AphC:int16:A_SF A_SF:sunssf PhV:int16:V_SF "
        "PhVphA:int16:V_SF PhVphB:int16:V_SF PhVphC:int16:V_SF PPV:int16:V_SF PPVphAB:int16:V_SF "
        "PPVphBC:int16:V_SF PPVphCA:int16:V_SF V_SF:sunssf Hz:int16:Hz_SF Hz_SF:sunssf "
        "W:int16:W_SF WphA:int16:W_SF WphB:int16:W_SF WphC:int16:W_SF W_SF:sunssf VA:int16:VA_SF "
        "VAphA:int16:VA_SF VAphB:int16:VA_SF VAphC:int16:VA_SF VA_SF:sunssf VAR:int16:VAR_SF "
        "VARphA:int16:VAR_SF VARphB:int16:VAR_SF VARphC:int16:VAR_SF VAR_SF:sunssf PF:int16:PF_SF "
        "PFphA:int16:PF_SF PFphB:int16:PF_SF PFphC:int16:PF_SF PF_SF:sunssf "
        "TotWhExp:acc32:TotWh_SF TotWhExpPhA:acc32:TotWh_SF TotWhExpPhB:acc32:TotWh_SF "
        "TotWhExpPhC:acc32:TotWh_SF TotWhImp:acc32:TotWh_SF TotWhImpPhA:acc32:TotWh_SF "
        "TotWhImpPhB:acc32:TotWh_SF TotWhImpPhC:acc32:TotWh_SF TotWh_SF:sunssf "
        "TotVAhExp:acc32:TotVAh_SF TotVAhExpPhA:acc32:TotVAh_SF TotVAhExpPhB:acc32:TotVAh_SF "
        "TotVAhExpPhC:acc32:TotVAh_SF TotVAhImp:acc32:TotVAh_SF TotVAhImpPhA:acc32:TotVAh_SF "
        "TotVAhImpPhB:acc32:TotVAh_SF TotVAhImpPhC:acc32:TotVAh_SF TotVAh_SF:sunssf "
        "TotVArhImpQ1:acc32:TotVArh_SF TotVArhImpQ1PhA:acc32:TotVArh_SF "
        "TotVArhImpQ1PhB:acc32:TotVArh_SF TotVArhImpQ1PhC:acc32:TotVArh_SF "
        "TotVArhImpQ2:acc32:TotVArh_SF TotVArhImpQ2PhA:acc32:TotVArh_SF "
        "TotVArhImpQ2PhB:acc32:TotVArh_SF TotVArhImpQ2PhC:acc32:TotVArh_SF "
        "TotVArhExpQ3:acc32:TotVArh_SF TotVArhExpQ3PhA:acc32:TotVArh_SF "
        "TotVArhExpQ3PhB:acc32:TotVArh_SF TotVArhExpQ3PhC:acc32:TotVArh_SF "
        "TotVArhExpQ4:acc32:TotVArh_SF TotVArhExpQ4PhA:acc32:TotVArh_SF "
        "TotVArhExpQ4PhB:acc32:TotVArh_SF TotVArhExpQ4PhC:acc32:TotVArh_SF TotVArh_SF:sunssf "
        "Evt:bitfield32 "
    ),
    203: (
        "A:int16:A_SF AphA:int16:A_SF AphB:int16:A_SF AphC:int16:A_SF A_SF:sunssf PhV:int16:V_SF "
        "PhVphA:int16:V_SF PhVphB:int16:V_SF PhVphC:int16:V_SF PPV:int16:V_SF PhVphAB:int16:V_SF "
        "PhVphBC:int16:V_SF PhVphCA:int16:V_SF V_SF:sunssf Hz:int16:Hz_SF Hz_SF:sunssf "
        "W:int16:W_SF WphA:int16:W_SF WphB:int16:W_SF WphC:int16:W_SF W_SF:sunssf VA:int16:VA_SF "
        "VAphA:int16:VA_SF VAphB:int16:VA_SF VAphC:int16:VA_SF VA_SF:sunssf VAR:int16:VAR_SF "
        "VARphA:int16:VAR_SF VARphB:int16:VAR_SF VARphC:int16:VAR_SF VAR_SF:sunssf PF:int16:PF_SF "
        "PFphA:int16:PF_SF PFphB:int16:PF_SF PFphC:int16:PF_SF PF_SF:sunssf "
        "TotWhExp:acc32:TotWh_SF TotWhExpPhA:acc32:TotWh_SF TotWhExpPhB:acc32:TotWh_SF "
        "TotWhExpPhC:acc32:TotWh_SF TotWhImp:acc32:TotWh_SF TotWhImpPhA:acc32:TotWh_SF "
        "TotWhImpPhB:acc32:TotWh_SF TotWhImpPhC:acc32:TotWh_SF TotWh_SF:sunssf "
        "TotVAhExp:acc32:TotVAh_SF TotVAhExpPhA:acc32:TotVAh_SF TotVAhExpPhB:acc32:TotVAh_SF "
        "TotVAhExpPhC:acc32:TotVAh_SF TotVAhImp:acc32:TotVAh_SF TotVAhImpPhA:acc32:TotVAh_SF "
        "TotVAhImpPhB:acc32:TotVAh_SF TotVAhImpPhC:acc32:TotVAh_SF TotVAh_SF:sunssf "
        "TotVArhImpQ1:acc32:TotVArh_SF TotVArhImpQ1PhA:acc32:TotVArh_SF "
        "TotVArhImpQ1PhB:acc32:TotVArh_SF TotVArhImpQ1PhC:acc32:TotVArh_SF "
        "TotVArhImpQ2:acc32:TotVArh_SF TotVArhImpQ2PhA:acc32:TotVArh_SF "
        "TotVArhImpQ2PhB:acc32:TotVArh_SF TotVArhImpQ2PhC:acc32:TotVArh_SF "
        "TotVArhExpQ3:acc32:TotVArh_SF TotVArhExpQ3PhA:acc32:TotVArh_SF "
        "TotVArhExpQ3PhB:acc32:TotVArh_SF TotVArhExpQ3PhC:acc32:TotVArh_SF "
        "TotVArhExpQ4:acc32:TotVArh_SF TotVArhExpQ4PhA:acc32:TotVArh_SF "
        "TotVArhExpQ4PhB:acc32:TotVArh_SF TotVArhExpQ4PhC:acc32:TotVArh_SF TotVArh_SF:sunssf "
        "Evt:bitfield32 "
    ),
    211: (
        "A:float32 AphA:float32 AphB:float32 AphC:float32 PhV:float32 PhVphA:float32 "
        "PhVphB:float32 PhVphC:float32 PPV:float32 PPVphAB:float32 PPVphBC:float32 "
        "PPVphCA:float32 Hz:float32 W:float32 WphA:float32 WphB:float32 WphC:float32 VA:float32 "
        "VAphA:float32 VAphB:float32 VAphC:float32 VAR:float32 VARphA:float32 VARphB:float32 "
        "VARphC:float32 PF:float32 PFphA:float32 PFphB:float32 PFphC:float32 TotWhExp:float32 "
        "TotWhExpPhA:float32 TotWhExpPhB:float32 TotWhExpPhC:float32 TotWhImp:float32 "
        "TotWhImpPhA:float32 TotWhImpPhB:float32 TotWhImpPhC:float32 TotVAhExp:float32 "
        "TotVAhExpPhA:float32 TotVAhExpPhB:float32 TotVAhExpPhC:float32 TotVAhImp:float32 "
        "TotVAhImpPhA:float32 TotVAhImpPhB:float32 TotVAhImpPhC:float32 TotVArhImpQ1:float32 "
        "TotVArhImpQ1phA:float32 TotVArhImpQ1phB:float32 TotVArhImpQ1phC:float32 "
        "TotVArhImpQ2:float32 TotVArhImpQ2phA:float32 TotVArhImpQ2phB:float32 "
        "TotVArhImpQ2phC:float32 TotVArhExpQ3:float32 TotVArhExpQ3phA:float32 "
        "TotVArhExpQ3phB:float32 TotVArhExpQ3phC:float32 TotVArhExpQ4:float32 "
        "TotVArhExpQ4phA:float32 TotVArhExpQ4phB:float32 TotVArhExpQ4phC:float32 Evt:bitfield32 "
    ),
}
_POINTS_ALIAS: Final = {103: 101, 113: 111, 213: 211}

_TYPES: Final[dict[str, tuple[DataType, float | None]]] = {
    # SunSpec type -> (data type, 'not implemented' engineering value; None = type default)
    "int16": (DataType.INT16, None),
    "uint16": (DataType.UINT16, None),
    "sunssf": (DataType.INT16, None),
    "enum16": (DataType.UINT16, None),
    "acc32": (DataType.UINT32, 0),
    "bitfield32": (DataType.UINT32, None),
    "float32": (DataType.FLOAT32, None),
}

_PHASES: Final = ("l1", "l2", "l3")
_LINES: Final = ("l1_l2", "l2_l3", "l3_l1")


def _group(
    prefix: str, suffixes: tuple[str, ...], slot: str, *, mean: bool = False, factor: float = 1.0
) -> dict[str, Measure]:
    """A total and its three phases (AphA -> current_l1 ...); the total falls back to them."""
    phases = tuple(f"{slot}_{p}" for p in _PHASES)
    points = {prefix: Measure(slot, factor, phases, "mean" if mean else "sum")}
    for suffix, phase_slot in zip(suffixes, phases, strict=True):
        points[suffix] = Measure(phase_slot, factor)
    return points


def _meter_sources(pf_factor: float) -> dict[str, Measure]:
    sources: dict[str, Measure] = {}
    sources.update(_group("A", ("AphA", "AphB", "AphC"), "current"))
    sources.update(_group("PhV", ("PhVphA", "PhVphB", "PhVphC"), "voltage", mean=True))
    lines = tuple(f"voltage_{x}" for x in _LINES)
    sources["PPV"] = Measure("voltage_ll", 1.0, lines, "mean")
    for pair, slot in zip(("AB", "BC", "CA"), lines, strict=True):
        # model 201 names the line-line voltages PPVphAB ..., model 203 PhVphAB ...
        sources[f"PPVph{pair}"] = sources[f"PhVph{pair}"] = Measure(slot)
    sources["Hz"] = Measure("frequency")
    sources.update(_group("W", ("WphA", "WphB", "WphC"), "power"))
    sources.update(_group("VA", ("VAphA", "VAphB", "VAphC"), "apparent_power"))
    sources.update(_group("VAR", ("VARphA", "VARphB", "VARphC"), "reactive_power"))
    sources.update(
        _group("PF", ("PFphA", "PFphB", "PFphC"), "power_factor", mean=True, factor=pf_factor)
    )
    for kind, slot in (("Exp", "energy_export"), ("Imp", "energy_import")):
        sources.update(_group(f"TotWh{kind}", tuple(f"TotWh{kind}Ph{x}" for x in "ABC"), slot))
    return sources


def _inverter_sources() -> dict[str, Measure]:
    sources: dict[str, Measure] = {}
    sources.update(_group("A", ("AphA", "AphB", "AphC"), "current"))
    for point, slot in zip(("PPVphAB", "PPVphBC", "PPVphCA"), _LINES, strict=True):
        sources[point] = Measure(f"voltage_{slot}")
    for point, slot in zip(("PhVphA", "PhVphB", "PhVphC"), _PHASES, strict=True):
        sources[point] = Measure(f"voltage_{slot}")
    sources.update(
        {
            "W": Measure("power"),
            "Hz": Measure("frequency"),
            "VA": Measure("apparent_power"),
            "VAr": Measure("reactive_power"),
            "PF": Measure("power_factor", 100.0),
            "WH": Measure("energy"),
            "DCA": Measure("dc_current"),
            "DCV": Measure("dc_voltage"),
            "DCW": Measure("dc_power"),
            "TmpCab": Measure("temperature"),
            "St": Measure("status"),
        }
    )
    return sources


def _phase_slots(
    name: str, quantity: Quantity, *, signed: bool = False, lines: bool = False
) -> tuple[Slot, ...]:
    names = _LINES if lines else _PHASES
    return tuple(Slot(f"{name}_{p}", quantity, signed=signed) for p in names)


METER_SLOTS: Final = (
    Slot("power", Quantity.POWER, required=True, signed=True, description="import positive"),
    *_phase_slots("power", Quantity.POWER, signed=True),
    Slot("current", Quantity.CURRENT),
    *_phase_slots("current", Quantity.CURRENT),
    Slot("voltage", Quantity.VOLTAGE, description="mean phase voltage"),
    *_phase_slots("voltage", Quantity.VOLTAGE),
    Slot("voltage_ll", Quantity.VOLTAGE, description="mean line-line voltage"),
    *_phase_slots("voltage", Quantity.VOLTAGE, lines=True),
    Slot("frequency", Quantity.FREQUENCY),
    Slot("apparent_power", Quantity.APPARENT_POWER),
    *_phase_slots("apparent_power", Quantity.APPARENT_POWER),
    Slot("reactive_power", Quantity.REACTIVE_POWER, signed=True),
    *_phase_slots("reactive_power", Quantity.REACTIVE_POWER, signed=True),
    Slot("power_factor", Quantity.POWER_FACTOR),
    *_phase_slots("power_factor", Quantity.POWER_FACTOR),
    Slot("energy_import", Quantity.ENERGY),
    *_phase_slots("energy_import", Quantity.ENERGY),
    Slot("energy_export", Quantity.ENERGY),
    *_phase_slots("energy_export", Quantity.ENERGY),
)

INVERTER_SLOTS: Final = (
    Slot("power", Quantity.POWER, required=True, signed=True, description="production positive"),
    Slot("energy", Quantity.ENERGY, description="total produced"),
    Slot("current", Quantity.CURRENT),
    *_phase_slots("current", Quantity.CURRENT),
    *_phase_slots("voltage", Quantity.VOLTAGE),
    *_phase_slots("voltage", Quantity.VOLTAGE, lines=True),
    Slot("frequency", Quantity.FREQUENCY),
    Slot("apparent_power", Quantity.APPARENT_POWER),
    Slot("reactive_power", Quantity.REACTIVE_POWER, signed=True),
    Slot("power_factor", Quantity.POWER_FACTOR),
    Slot("dc_current", Quantity.CURRENT),
    Slot("dc_voltage", Quantity.VOLTAGE),
    Slot("dc_power", Quantity.POWER),
    Slot("temperature", Quantity.TEMPERATURE, description="cabinet temperature"),
    Slot(
        "status",
        Quantity.STATE,
        description="SunSpec St: 1 off, 2 sleeping, 3 starting, 4 MPPT, 5 throttled, "
        "6 shutting down, 7 fault, 8 standby",
    ),
)


def _string(address: int, name: str, length: int, source: Const | FromIdentity) -> Row:
    return Row(
        address=address,
        name=name,
        data_type=DataType.STRING,
        length=length,
        source=source,
        missing="",
    )


def _u16(address: int, name: str, value: int) -> Row:
    return Row(address=address, name=name, data_type=DataType.UINT16, source=Const(value))


def _common_rows() -> list[Row]:
    """The marker and model 1 (Mn, Md, Opt, Vr, SN, DA, Pad) at 40000."""
    address = BASE
    rows = [_string(address, "SunS", 2, Const(MARKER))]
    rows += [_u16(address + 2, "common.ID", 1), _u16(address + 3, "common.L", COMMON_LENGTH)]
    address += 4
    for name, length, source in (
        ("Mn", 16, FromIdentity("manufacturer")),
        ("Md", 16, FromIdentity("model")),
        ("Opt", 8, Const("")),
        ("Vr", 8, FromIdentity("version")),
        ("SN", 16, FromIdentity("serial")),
    ):
        rows.append(_string(address, f"common.{name}", length, source))
        address += length
    rows.append(
        Row(
            address=address,
            name="common.DA",
            data_type=DataType.UINT16,
            source=FromIdentity("unit_id", int),
        )
    )
    rows.append(_u16(address + 1, "common.Pad", 0x8000))
    return rows


def model_rows(model: int, start: int, sources: dict[str, Measure]) -> list[Row]:
    """Rows of one SunSpec model (ID and L first) from `start`."""
    spec = _POINTS[_POINTS_ALIAS.get(model, model)].split()
    rows = [_u16(start, f"{model}.ID", model)]
    length_row = len(rows)
    rows.append(_u16(start + 1, f"{model}.L", 0))
    address = start + 2
    for item in spec:
        name, kind, *sf = item.split(":")
        data_type, not_implemented = _TYPES[kind]
        source: Measure | Const | Missing
        scale = 1.0
        missing: float | None = not_implemented
        if kind == "sunssf":
            source = Const(SCALE_FACTORS[name])
        elif name in sources:
            source = sources[name]
            if sf:
                scale = 10.0 ** SCALE_FACTORS[sf[0]]
        elif name.startswith("Evt") and not name.startswith("EvtVnd"):
            source = Const(0)  # no events
        else:
            source = Missing()
        rows.append(
            Row(
                address=address,
                name=f"{model}.{name}",
                data_type=data_type,
                source=source,
                scale=scale,
                missing=missing,
            )
        )
        address += data_type.fixed_register_count or 1
    rows[length_row] = _u16(start + 1, f"{model}.L", address - start - 2)
    return rows


def _profile(
    model: int, kind: str, slots: tuple[Slot, ...], sources: dict[str, Measure]
) -> Profile:
    rows = _common_rows()
    start = rows[-1].address + 1
    rows += model_rows(model, start, sources)
    end = rows[-1].address + (rows[-1].data_type.fixed_register_count or 1)
    rows += [_u16(end, "end.ID", END_ID), _u16(end + 1, "end.L", 0)]
    return Profile(
        key=f"sunspec_{kind}_{model}",
        name=f"SunSpec {kind} (model {model})",
        consumers=(
            "SunSpec clients: Fronius GEN24 (meter), NIBE heat pumps and Viessmann Gridbox "
            "(inverter), evcc, pysunspec2 (Modbus TCP, holding registers, unit 1)"
        ),
        slots=slots,
        rows=tuple(rows),
        areas=(Area.HOLDING_REGISTER,),
        ranges=((BASE, end + 1),),
        unit_id=1,
        identity=Identity(model=f"SunSpec {kind} {model}"),
    )


def _all() -> dict[str, Profile]:
    profiles = [
        _profile(model, "meter", METER_SLOTS, _meter_sources(1.0 if model >= 211 else 100.0))
        for model in (201, 203, 211, 213)
    ]
    profiles += [
        _profile(model, "inverter", INVERTER_SLOTS, _inverter_sources())
        for model in (101, 103, 111, 113)
    ]
    return {profile.key: profile for profile in profiles}


PROFILES: Final = _all()
