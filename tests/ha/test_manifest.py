"""manifest.json and hacs.json say what the issue asks, and only what is true."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.const import __version__ as HA_VERSION

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "custom_components" / "modbus_server"


def test_manifest() -> None:
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    assert manifest["domain"] == "modbus_server"
    assert manifest["iot_class"] == "local_push"
    assert manifest["config_flow"] is True
    assert manifest["requirements"] == []
    assert manifest["codeowners"]
    assert manifest["integration_type"] == "service"
    for url in ("documentation", "issue_tracker"):
        assert manifest[url].startswith("https://"), url
    assert manifest["version"].count(".") == 2


def test_hacs_minimum_is_the_tested_home_assistant() -> None:
    """The minimum version HACS enforces is the one this suite runs against."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == "Modbus Server"
    assert hacs["homeassistant"] == HA_VERSION
