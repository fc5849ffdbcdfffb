"""Shelly Pro 3EM (triphase profile): input registers (FC04), float32 low word first.

Map source: Shelly's Gen2 API documentation, components EM and EMData, 'Modbus registers'
(shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/EM and .../EMData; input registers
listed as 3xxxx, 31013 = input register 1013), as a consumer reads it: the Victron
dbus-modbus-client Shelly driver (Reg_f32l, low word first): MAC at 0 (6 registers, text,
low byte first), model at 6 (10 registers, 'SPEM-003CEBEU' for the Pro 3EM), total active
power 1013 (W), per phase n = 0..2 voltage 1020+20n, current 1022+20n, active power
1024+20n, power factor 1028+20n; EMData total import 1162 and export 1164 (Wh), per phase
1182+20n / 1184+20n (Wh). The driver finds the component count by probing: 1000 must answer
and 1080 (a second EM component), 32000/32020/32040 (monophase EM1) must not, so the EM block
is 1000..1079 and EMData 1160..1229 (components repeat every 80 and 70 registers); gaps in
them read 0 (not confirmed: the real meter serves timestamps and error flags there). Unit 1.
Sign: consumption (import) positive, as the meter counts.
"""

from __future__ import annotations

from typing import Final

from ..modbus.area import Area
from ..registermap import ByteOrder, DataType, WordOrder
from .model import Const, FromIdentity, Identity, Measure, Profile, Quantity, Row, Slot

MODEL: Final = "SPEM-003CEBEU"
_PHASES: Final = ("l1", "l2", "l3")


def _f32(address: int, name: str, source: Measure) -> Row:
    return Row(
        address=address,
        name=name,
        data_type=DataType.FLOAT32,
        word_order=WordOrder.LITTLE,
        source=source,
    )


def _text(address: int, name: str, length: int, source: Const | FromIdentity) -> Row:
    return Row(
        address=address,
        name=name,
        data_type=DataType.STRING,
        length=length,
        byte_order=ByteOrder.LITTLE,
        source=source,
        missing="",
    )


def _rows() -> list[Row]:
    powers = tuple(f"power_{p}" for p in _PHASES)
    rows = [
        _text(0, "mac", 6, FromIdentity("serial")),
        _text(6, "model", 10, Const(MODEL)),
        _f32(1013, "power", Measure("power", 1.0, powers)),
        _f32(
            1162,
            "energy_import",
            Measure("energy_import", 1.0, tuple(f"energy_import_{p}" for p in _PHASES)),
        ),
        _f32(
            1164,
            "energy_export",
            Measure("energy_export", 1.0, tuple(f"energy_export_{p}" for p in _PHASES)),
        ),
    ]
    for n, phase in enumerate(_PHASES):
        em, data = 20 * n, 20 * n
        rows += [
            _f32(1020 + em, f"voltage_{phase}", Measure(f"voltage_{phase}")),
            _f32(1022 + em, f"current_{phase}", Measure(f"current_{phase}")),
            _f32(1024 + em, f"power_{phase}", Measure(f"power_{phase}")),
            _f32(1028 + em, f"power_factor_{phase}", Measure(f"power_factor_{phase}")),
            _f32(1182 + data, f"energy_import_{phase}", Measure(f"energy_import_{phase}")),
            _f32(1184 + data, f"energy_export_{phase}", Measure(f"energy_export_{phase}")),
        ]
    return rows


def _slots() -> tuple[Slot, ...]:
    out = [Slot("power", Quantity.POWER, required=True, signed=True)]
    for name, quantity in (
        ("power", Quantity.POWER),
        ("voltage", Quantity.VOLTAGE),
        ("current", Quantity.CURRENT),
        ("power_factor", Quantity.POWER_FACTOR),
        ("energy_import", Quantity.ENERGY),
        ("energy_export", Quantity.ENERGY),
    ):
        out += [Slot(f"{name}_{p}", quantity, signed=quantity is Quantity.POWER) for p in _PHASES]
    out += [Slot("energy_import", Quantity.ENERGY), Slot("energy_export", Quantity.ENERGY)]
    return tuple(out)


PRO_3EM: Final = Profile(
    key="shelly_pro_3em",
    name="Shelly Pro 3EM",
    consumers=(
        "Victron GX with the Shelly Modbus driver, batteries and inverters that accept a "
        "Shelly Pro 3EM over Modbus TCP (input registers, unit 1)"
    ),
    slots=_slots(),
    rows=tuple(_rows()),
    areas=(Area.INPUT_REGISTER,),
    ranges=((0, 15), (1000, 1079), (1160, 1229)),
    identity=Identity(manufacturer="Shelly", model="Pro 3EM", serial="A0B1C2D3E4F5"),
)

PROFILES: Final = {PRO_3EM.key: PRO_3EM}
