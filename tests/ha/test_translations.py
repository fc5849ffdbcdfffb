"""strings.json covers every key the code uses, and translations/en.json is its copy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import probatio
import yaml

from custom_components.modbus_server.bindings import get_binding, supported_domains
from custom_components.modbus_server.const import (
    CONF_STALE_AFTER,
    CONF_WRITE_MODE,
    SERVICE_EXPORT_REGISTER_MAP,
    SERVICE_SET_VALUE,
    TRANSPORTS,
    WRITE_MODES,
)
from custom_components.modbus_server.flows.row import ATTRIBUTE_STATE
from custom_components.modbus_server.modbus import Rights
from custom_components.modbus_server.modbus.area import Area
from custom_components.modbus_server.planning import ADVANCED_FIELDS, POINT_FIELDS
from custom_components.modbus_server.profiles import PROFILES
from custom_components.modbus_server.registermap import ByteOrder, DataType, WordOrder
from custom_components.modbus_server.sensor import SENSORS
from custom_components.modbus_server.server_form import server_schema, transport_schema
from custom_components.modbus_server.services import EXPORT_SCHEMA, SET_VALUE_SCHEMA

PACKAGE = Path(__file__).parents[2] / "custom_components" / "modbus_server"


TRANSPORT_ERRORS = {
    "invalid_gateway_host",
    "serial_port_required",
    "serial_port_missing",
    "serial_port_busy",
    "serial_permission_denied",
    "not_a_serial_port",
    "serial_cannot_open",
    "serial_port_configured",
    "turnaround_too_short",
    "pem_required",
    "pem_file_missing",
    "invalid_certificate",
    "invalid_key",
    "key_encrypted",
    "key_mismatch",
    "invalid_client_ca",
    "tls_unusable",
}
"""Errors of the transport fields (serial port, gateway, TLS PEM) in the server form."""


def strings() -> dict:  # type: ignore[type-arg]
    return json.loads((PACKAGE / "strings.json").read_text())


def test_english_translation_is_strings_json() -> None:
    assert json.loads((PACKAGE / "translations" / "en.json").read_text()) == strings()


def test_every_error_and_abort_key_is_translated() -> None:
    data = strings()
    assert set(data["config"]["error"]) == {
        "invalid_bind_address",
        "invalid_allowed_clients",
        "port_configured",
        "port_in_use",
        "permission_denied",
        "address_not_available",
        "cannot_bind",
        "name_too_long",
        "per_host_above_max",
        "allowed_clients_everyone",
        "confirm_allowed_everyone",
        *TRANSPORT_ERRORS,
    }
    point = data["config_subentries"]["point"]
    for field in (*POINT_FIELDS, *ADVANCED_FIELDS, "base"):
        message = point["error"][f"invalid_{field}"]
        assert f"{{{field}_error}}" in message
    assert {"unsupported_domain", "owned_string"} <= set(point["error"])
    assert "no_area" in point["abort"]
    for kind in ("bulk", "import"):
        assert "points_added" in data["config_subentries"][kind]["abort"]
        assert set(data["config_subentries"][kind]["step"]) == {"device", "user", "confirm"}
    row_steps = {"entity", "attribute", "area", "owned", "point"}
    assert set(point["step"]) == {"device", "user", *row_steps}
    assert {"no_devices", "row_added"} <= set(point["abort"])
    device = data["config_subentries"]["device"]
    profile_steps = {"profile", "profile_preset", "profile_slots", "profile_settings"}
    assert set(device["step"]) == {
        "user",
        "blank",
        *profile_steps,
        "reconfigure",
        "settings",
        "change_row",
        "delete_rows",
        *row_steps,
    }
    # the device form's unit id rules, and the row steps' errors (shared with "point")
    assert {
        "name_required",
        "name_too_long",
        "invalid_unit_ids",
        "unit_id_taken",
        "other_answers_every",
        "any_unit_needs_single",
        "no_rows_selected",
        "unit_not_accepted",  # the profile steps
        "profile_invalid",
        "invalid_roles",
    } | set(point["error"]) == set(device["error"])
    assert {"no_rows", "rows_deleted", "row_changed", "no_area"} <= set(device["abort"])
    # the write mode and staleness are row settings, not point fields: no validation error
    assert set(point["step"]["point"]["sections"]["advanced"]["data"]) == {
        *ADVANCED_FIELDS,
        CONF_WRITE_MODE,
        CONF_STALE_AFTER,
    }


def test_entities_exceptions_issues_and_services_are_translated() -> None:
    data = strings()
    assert {d.translation_key for d in SENSORS} | {"owned_point"} == set(data["entity"]["sensor"])
    assert set(data["entity"]["binary_sensor"]) == {"client_connected", "owned_point"}
    assert set(data["exceptions"]) == {
        "invalid_table",
        "unit_id_clash",
        "device_required",
        "permission_denied",
        "port_in_use",
        "address_not_available",
        "cannot_bind",
        "invalid_value",
        "not_owned_point",
        "invalid_transport",
        "serial_port_missing",
        "serial_port_busy",
        "serial_permission_denied",
        "not_a_serial_port",
        "serial_cannot_open",
    }
    # Home Assistant looks up exceptions.<key>.message: a bare string shows only the key
    assert all(set(text) == {"message"} for text in data["exceptions"].values())
    assert set(data["issues"]) == {
        "permission_denied",
        "missing_entities",
        "certificate_expires",
        "certificate_expired",
    }
    fix_flow = data["issues"]["permission_denied"]["fix_flow"]
    assert set(fix_flow["step"]) == {"port"}
    assert set(fix_flow["error"]) == set(data["config"]["error"]) - TRANSPORT_ERRORS - {
        "invalid_bind_address",
        "invalid_allowed_clients",
        "name_too_long",
        "per_host_above_max",
        "allowed_clients_everyone",
        "confirm_allowed_everyone",
    }
    assert set(data["services"]) == {"export_register_map", "set_value"}
    icons = json.loads((PACKAGE / "icons.json").read_text())
    assert set(icons["services"]) == set(data["services"])


SOURCES = [
    path
    for path in PACKAGE.rglob("*.py")
    if not {"modbus", "registermap"} & set(path.relative_to(PACKAGE).parts[:-1])
]


def _literals(pattern: str) -> set[str]:
    return {match for path in SOURCES for match in re.findall(pattern, path.read_text())}


def _keys(node: object, section: str) -> set[str]:
    """Every key of every `section` dict anywhere in the strings."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == section and isinstance(value, dict):
                found |= set(value)
            found |= _keys(value, section)
    return found


def test_every_key_the_code_uses_is_translated() -> None:
    """Scanned from the code, so a new error, abort or exception cannot go untranslated."""
    data = strings()
    errors = _literals(r'errors\[[^\]]+\] = "(\w+)"')
    aborts = _literals(r'reason="(\w+)"')
    keys = _literals(r'translation_key="(\w+)"')
    # the patterns still match the code
    assert len(errors) > 5
    assert len(aborts) > 2
    assert len(keys) > 5
    assert errors <= _keys(data, "error")
    assert aborts <= _keys(data, "abort")
    entity_keys = {key for platform in data["entity"].values() for key in platform}
    assert keys <= set(data["exceptions"]) | entity_keys | set(data["issues"])


def test_every_selector_option_is_translated() -> None:
    options = {name: set(sel["options"]) for name, sel in strings()["selector"].items()}
    assert options["area"] == {str(area) for area in Area}
    assert options["data_type"] == {str(data_type) for data_type in DataType}
    assert options["word_order"] == {str(order) for order in WordOrder}
    assert options["byte_order"] == {str(order) for order in ByteOrder}
    assert options[CONF_WRITE_MODE] == set(WRITE_MODES)
    assert options["tls_null_role"] == {str(rights) for rights in Rights}
    attributes = {a for d in supported_domains() for a in get_binding(d).attributes()}  # type: ignore[union-attr]
    assert options["attribute"] == {ATTRIBUTE_STATE} | attributes


def test_services_yaml_matches_the_registered_schemas() -> None:
    """services.yaml, the schemas and the strings name the same actions and fields."""
    described = yaml.safe_load((PACKAGE / "services.yaml").read_text())
    schemas = {SERVICE_EXPORT_REGISTER_MAP: EXPORT_SCHEMA, SERVICE_SET_VALUE: SET_VALUE_SCHEMA}
    assert set(described) == set(schemas) == set(strings()["services"])
    for name, schema in schemas.items():
        fields = {str(key) for key in schema.schema}
        assert set(described[name]["fields"]) == fields, name
        assert set(strings()["services"][name]["fields"]) == fields, name
        required = {str(key) for key in schema.schema if isinstance(key, probatio.Required)}
        assert {f for f, spec in described[name]["fields"].items() if spec.get("required")} == (
            required
        ), name


def test_every_form_section_has_the_header_the_frontend_shows() -> None:
    """A section's header is its `name` (with `title` the frontend shows the raw key)."""

    def sections(node: object) -> list[tuple[str, dict[str, object]]]:
        found: list[tuple[str, dict[str, object]]] = []
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "sections" and isinstance(value, dict):
                    found += list(value.items())
                found += sections(value)
        return found

    found = sections(strings())
    assert found
    for key, section in found:
        assert isinstance(section.get("name"), str), f"section {key} has no name"


def test_every_profile_slot_has_a_label() -> None:
    """The slot form shows one field per slot of any profile: each needs its label."""
    step = strings()["config_subentries"]["device"]["step"]["profile_slots"]
    names = {slot.name for profile in PROFILES.values() for slot in profile.slots}
    assert names <= set(step["data"])
    assert names <= set(step["data_description"])


def test_every_field_of_every_transport_form_is_labelled_and_described() -> None:
    steps = strings()["config"]["step"]
    assert strings()["selector"]["transport"]["options"].keys() == set(TRANSPORTS)
    for step in ("user", "reconfigure"):
        assert set(transport_schema("tcp").schema) == set(steps[step]["data"])
    for transport in TRANSPORTS:
        for first_device in (True, False):
            fields = {
                str(key) for key in server_schema(transport, {}, first_device=first_device).schema
            }
            assert fields <= set(steps[transport]["data"]), transport
            assert fields <= set(steps[transport]["data_description"]), transport
