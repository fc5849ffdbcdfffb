"""The binding registry: one module per domain, looked up by domain."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.modbus_server.bindings import (
    DomainBinding,
    get_binding,
    supported_domains,
)
from custom_components.modbus_server.modbus import Area
from custom_components.modbus_server.registermap import DataType

EXPECTED = {
    "automation", "binary_sensor", "button", "climate", "counter", "cover", "device_tracker",
    "fan", "humidifier", "input_boolean", "input_button", "input_number", "input_select",
    "input_text", "light", "lock", "media_player", "number", "person", "scene", "script",
    "select", "sensor", "siren", "switch", "text", "timer", "valve", "water_heater",
    "alarm_control_panel", "input_datetime", "lawn_mower", "remote", "update", "vacuum",
    "weather",
}  # fmt: skip


def test_every_domain_module_registers_itself() -> None:
    assert set(supported_domains()) == EXPECTED
    assert supported_domains() == sorted(supported_domains())
    for domain in EXPECTED:
        binding = get_binding(domain)
        assert isinstance(binding, DomainBinding)
        assert binding.domain == domain


def test_unknown_domain_has_no_binding() -> None:
    assert get_binding("zone") is None
    assert get_binding("") is None


@pytest.mark.parametrize(
    ("domain", "attribute", "areas"),
    [
        ("switch", None, list(Area)),
        ("binary_sensor", None, list(Area)),
        ("sensor", None, [Area.HOLDING_REGISTER, Area.INPUT_REGISTER]),
        ("light", "brightness", [Area.HOLDING_REGISTER, Area.INPUT_REGISTER]),
        ("button", None, [Area.COIL]),
        ("input_text", None, [Area.HOLDING_REGISTER, Area.INPUT_REGISTER]),
        ("climate", None, list(Area)),
        ("weather", None, []),
        ("weather", "temperature", [Area.HOLDING_REGISTER, Area.INPUT_REGISTER]),
        ("input_datetime", None, [Area.HOLDING_REGISTER, Area.INPUT_REGISTER]),
    ],
)
def test_areas(domain: str, attribute: str | None, areas: list[Area]) -> None:
    binding = get_binding(domain)
    assert binding is not None
    assert binding.areas(attribute) == areas


@pytest.mark.parametrize(
    ("domain", "area", "attribute", "writable", "data_type"),
    [
        ("switch", Area.COIL, None, True, DataType.BOOL),
        ("switch", Area.DISCRETE_INPUT, None, False, DataType.BOOL),
        ("switch", Area.HOLDING_REGISTER, None, True, DataType.UINT16),
        ("binary_sensor", Area.COIL, None, False, DataType.BOOL),
        ("sensor", Area.HOLDING_REGISTER, None, False, DataType.FLOAT32),
        ("number", Area.HOLDING_REGISTER, None, True, DataType.FLOAT32),
        ("input_number", Area.INPUT_REGISTER, None, False, DataType.FLOAT32),
        ("counter", Area.HOLDING_REGISTER, None, True, DataType.INT32),
        ("select", Area.HOLDING_REGISTER, None, True, DataType.UINT16),
        ("light", Area.HOLDING_REGISTER, "brightness", True, DataType.UINT16),
        ("climate", Area.HOLDING_REGISTER, "current_temperature", False, DataType.FLOAT32),
        ("climate", Area.HOLDING_REGISTER, "temperature", True, DataType.FLOAT32),
        ("climate", Area.HOLDING_REGISTER, None, True, DataType.UINT16),
        ("climate", Area.COIL, None, True, DataType.BOOL),
        ("cover", Area.HOLDING_REGISTER, "current_position", True, DataType.UINT16),
        ("device_tracker", Area.COIL, None, False, DataType.BOOL),
        ("timer", Area.INPUT_REGISTER, "remaining", False, DataType.UINT32),
        ("input_text", Area.HOLDING_REGISTER, None, True, DataType.STRING),
        ("sensor", Area.HOLDING_REGISTER, "anything", False, DataType.FLOAT32),
    ],
)
def test_writable_and_default_data_type(
    domain: str, area: Area, attribute: str | None, writable: bool, data_type: DataType
) -> None:
    binding = get_binding(domain)
    assert binding is not None
    assert binding.writable(area, attribute) is writable
    assert binding.default_data_type(area, attribute) is data_type


def test_readme_table_has_a_row_per_domain() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    first_cells = " ".join(row.split("|")[1] for row in rows)
    missing = [d for d in supported_domains() if f"`{d}`" not in first_cells]
    assert missing == []
