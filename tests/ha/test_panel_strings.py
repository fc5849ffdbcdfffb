"""Every label the table view's module asks for is in strings.json (category "panel")."""

from __future__ import annotations

import json
import re
from pathlib import Path

from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.panel import FRONTEND_DIR, MODULE

PACKAGE = Path(__file__).parents[2] / "custom_components" / "modbus_server"
SOURCE = (FRONTEND_DIR / MODULE).read_text()


def panel_strings() -> dict[str, str]:
    return dict(json.loads((PACKAGE / "strings.json").read_text())["panel"])


def test_every_fixed_label_is_translated() -> None:
    used = set(re.findall(r"\b(?:this|ui)\.t\(\"([a-z_]+)\"", SOURCE))
    assert len(used) > 10
    assert used <= set(panel_strings())


def test_every_column_area_and_field_label_is_translated() -> None:
    strings = panel_strings()
    columns = set(re.findall(r'\{ id: "([a-z]+)"|\n    id: "([a-z]+)"', SOURCE))
    ids = {a or b for a, b in columns} - {"select", "edit"}
    assert {"plc", "raw", "value", "read", "write"} <= ids
    for column in ids:
        assert f"column_{column}" in strings
        assert f"column_{column}_help" in strings
    for area in Area:
        assert f"area_{area}" in strings
    fields = set(re.findall(r'field\("([a-z_]+)"', SOURCE))
    assert {"address", "data_type", "order", "writable"} <= fields
    for field in fields:
        assert f"field_{field}" in strings


def test_placeholders_match_what_the_module_passes() -> None:
    strings = panel_strings()
    assert "{shown}" in strings["row_count"]
    assert "{total}" in strings["row_count"]
    assert "{count}" in strings["delete_selected"]
    assert "{count}" in strings["confirm_delete"]
