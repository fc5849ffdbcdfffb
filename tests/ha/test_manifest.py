"""manifest.json and hacs.json say what the issue asks, and only what is true."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.modbus_server.const import DOMAIN

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "custom_components" / "modbus_server"


def test_manifest() -> None:
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    assert manifest["domain"] == "modbus_server"
    assert manifest["iot_class"] == "local_push"
    assert manifest["config_flow"] is True
    assert manifest["requirements"] == []
    assert manifest["codeowners"]
    assert manifest["integration_type"] == "hub"
    for url in ("documentation", "issue_tracker"):
        assert manifest[url].startswith("https://"), url
    assert manifest["version"].count(".") == 2


def test_hacs_minimum_is_the_tested_home_assistant() -> None:
    """The minimum version HACS enforces is the one this suite runs against."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == "Modbus Server"
    assert hacs["homeassistant"] == HA_VERSION


async def test_brand_images_are_served_by_home_assistant(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """The integration card shows our icon and logo (HA serves a custom integration's brand/)."""
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    expected = {"icon.png": (256, 256), "icon@2x.png": (512, 512), "logo.png": None}
    for image, size in expected.items():
        response = await client.get(f"/api/brands/integration/{DOMAIN}/{image}")
        assert response.status == 200, image
        body = await response.read()
        assert body == (PACKAGE / "brand" / image).read_bytes()
        assert body[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", body[16:24])  # the IHDR chunk
        if size is not None:
            assert (width, height) == size, image
        else:
            assert height == 256
            assert width > height, "the logo is wider than tall"
