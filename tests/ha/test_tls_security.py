"""Modbus/TCP Security in Home Assistant: roles per device, generated certificates, expiry.

The issue's "done when", through the flows a user walks: a TLS server whose CA and server
certificate the integration generated, client certificates it issued (downloaded through
their signed links), device roles set in the device form; then pymodbus's TLS client with
those files: a Viewer's write is answered 01 and changes nothing, an Operator's is applied,
a certificate without a role gets the server's NULL-role policy, and a role change applies
to a connection that stays open.
"""

from __future__ import annotations

import datetime
import re
import ssl
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from pymodbus.client import AsyncModbusTlsClient
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.modbus_server import certs
from custom_components.modbus_server.const import DOMAIN, EVENT_WRITE
from custom_components.modbus_server.device_rules import parse_roles
from custom_components.modbus_server.logbook import describe_write
from custom_components.modbus_server.modbus import Rights

from .conftest import async_edit_table, find_free_port, only_device, point_data

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROW = {**point_data("holding_register", 0, "uint16", writable=True), "id": "setpoint"}
ILLEGAL_FUNCTION = 1


def server_form(port: int, **overrides: Any) -> dict[str, Any]:
    """The TLS form with "Generate certificates" on and the PEM fields left empty."""
    return {
        "name": "Secure plant",
        "bind_address": "127.0.0.1",
        "port": port,
        "tls_generate": True,
        "tls_null_role": "read",
        "unit_id": 1,
        "unmapped": "error",
        "write_timeout": 5.0,
        "read_only": False,
        **overrides,
    }


def device_form(roles: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Secure plant",
        "unit_ids": "1",
        "answer_0": False,
        "answer_255": False,
        "unmapped": "error",
        "read_only": False,
        "roles": roles,
        "identification": {},
        **overrides,
    }


async def async_create_server(hass: HomeAssistant, **overrides: Any) -> MockConfigEntry:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"transport": "tls"})
    assert result["step_id"] == "tls"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], server_form(find_free_port(), **overrides)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    await hass.async_block_till_done()
    entry: MockConfigEntry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    await async_edit_table(hass, entry, add=(ROW,))
    return entry


async def async_issue(
    hass: HomeAssistant, entry: MockConfigEntry, name: str, role: str, password: str = ""
) -> dict[str, Any]:
    """Walk the client certificate flow; its closing message's placeholders."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "client_certificate"), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    form: dict[str, Any] = {"name": name, "role": role, "days": 30}
    if password:
        form["password"] = password
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "certificate_issued"
    return dict(result["description_placeholders"])


async def async_set_roles(
    hass: HomeAssistant, entry: MockConfigEntry, roles: str
) -> dict[str, Any]:
    """The device settings form with `roles`; the flow's last result."""
    device_id = only_device(entry).settings.device_id
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "device"), context={"source": "reconfigure", "subentry_id": device_id}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert "roles" in result["data_schema"].schema
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], device_form(roles)
    )
    await hass.async_block_till_done()
    return dict(result)


async def async_download(client: Any, links: str) -> dict[str, bytes]:
    """Fetch every signed link of the flow's message (no login: the signature is the access)."""
    files = {}
    for filename, path in re.findall(r"\[([^\]]+)\]\(([^)]+)\)", links):
        response = await client.get(path)
        assert response.status == 200, filename
        files[filename] = await response.read()
    return files


def tls_client(folder: Path, files: dict[str, bytes], name: str, password: str) -> Any:
    """pymodbus's TLS client with the downloaded certificate, key (encrypted) and CA."""
    for filename, content in files.items():
        (folder / filename).write_bytes(content)
    context = ssl.create_default_context(cafile=folder / "ca.pem")
    context.load_cert_chain(
        folder / f"{name}.crt.pem", folder / f"{name}.key.pem", password=password
    )
    return context


async def test_viewer_refused_operator_applied_roles_change_live(
    hass: HomeAssistant, hass_client_no_auth: Any, tmp_path: Path
) -> None:
    entry = await async_create_server(hass)
    assert entry.data["tls_ca_key"].startswith("-----BEGIN PRIVATE KEY-----")
    result = await async_set_roles(hass, entry, "Operator = read-write\nViewer = read")
    assert result["type"] is FlowResultType.ABORT
    assert only_device(entry).device.rights == {
        None: Rights.READ,
        "Operator": Rights.READ_WRITE,
        "Viewer": Rights.READ,
    }
    http = await hass_client_no_auth()
    contexts = {}
    for name, role in (("plc-1", "Operator"), ("scada", "Viewer"), ("anonymous", "")):
        issued = await async_issue(hass, entry, name, role, password="" if role else "long-secret")
        assert issued["subject"] == f"CN={name}"
        files = await async_download(http, issued["links"])
        assert set(files) == {f"{name}.crt.pem", f"{name}.key.pem", f"{name}.p12", "ca.pem"}
        contexts[name] = tls_client(tmp_path, files, name, issued["password"])
    # a link without its signature needs a login
    assert (
        await http.get(f"/api/modbus_server/certificates/{entry.entry_id}/ca.pem")
    ).status == 401

    port = entry.data["port"]
    events = async_capture_events(hass, EVENT_WRITE)
    clients = {
        name: AsyncModbusTlsClient(
            "127.0.0.1", port=port, sslctx=context, timeout=3, retries=0, reconnect_delay=0
        )
        for name, context in contexts.items()
    }
    try:
        for client in clients.values():
            assert await client.connect()
        operator, viewer, anonymous = clients["plc-1"], clients["scada"], clients["anonymous"]
        assert not (await operator.write_register(0, 42, device_id=1)).isError()
        await hass.async_block_till_done()
        refused = await viewer.write_register(0, 7, device_id=1)
        assert refused.isError()
        assert refused.exception_code == ILLEGAL_FUNCTION
        assert (await viewer.read_holding_registers(0, count=1, device_id=1)).registers == [42]
        # no role: the server's policy (read)
        assert (await anonymous.read_holding_registers(0, count=1, device_id=1)).registers == [42]
        assert (await anonymous.write_register(0, 9, device_id=1)).exception_code == 1
        # the audit names the certificate's subject and role
        assert [(e.data["client_subject"], e.data["client_role"]) for e in events] == [
            ("CN=plc-1", "Operator")
        ]
        assert "[CN=plc-1, role Operator]" in describe_write(events[0].data)

        # roles changed in the device form: the open Viewer connection may write now
        await async_set_roles(hass, entry, "Operator = read-write\nViewer = read-write")
        assert not (await viewer.write_register(0, 8, device_id=1)).isError()
        await hass.async_block_till_done()
        assert (await operator.read_holding_registers(0, count=1, device_id=1)).registers == [8]
        assert operator.connected
        assert viewer.connected
        connections = [c.as_dict() for c in entry.runtime_data.listener.connections]
        assert {(c["subject"], c["role"]) for c in connections} == {
            ("CN=plc-1", "Operator"),
            ("CN=scada", "Viewer"),
            ("CN=anonymous", None),
        }
    finally:
        for client in clients.values():
            client.close()
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_ca_key_is_redacted_and_never_logged(
    hass: HomeAssistant, hass_client: Any, caplog: Any
) -> None:
    entry = await async_create_server(hass)
    await async_issue(hass, entry, "plc-1", "Operator", password="a-good-password")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["settings"]["tls_ca_key"] == "**REDACTED**"
    assert "PRIVATE KEY" not in str(diagnostics)
    assert "PRIVATE KEY" not in caplog.text
    assert "a-good-password" not in caplog.text
    folder = Path(hass.config.path(DOMAIN, entry.entry_id))
    assert (folder / "plc-1.p12").is_file()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not folder.exists()  # the issued keys go with the server


async def test_null_role_policy_none_refuses_reads_and_plain_tcp_has_no_rights_checks(
    hass: HomeAssistant,
) -> None:
    entry = await async_create_server(hass, tls_null_role="none")
    assert only_device(entry).device.rights == {None: Rights.NONE}
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_device_form_refuses_bad_roles_and_keeps_the_text(hass: HomeAssistant) -> None:
    entry = await async_create_server(hass)
    typed = "Operator = read-write\nViewer: read\nGuest = everything"
    result = await async_set_roles(hass, entry, typed)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"roles": "invalid_roles"}
    assert result["description_placeholders"]["lines"] == "Viewer: read; Guest = everything"
    field = next(k for k in result["data_schema"].schema if k == "roles")
    assert field.description == {"suggested_value": typed}  # nothing typed is lost
    assert only_device(entry).device.rights == {None: Rights.READ}
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_roles_text_parses_rights_words() -> None:
    assert parse_roles("Operator = Read-Write\n\nViewer=read\nNobody = none") == (
        {"Operator": "read-write", "Viewer": "read", "Nobody": "none"},
        [],
    )
    assert parse_roles("A = read\nA = none\n= read\nB")[1] == ["A = none", "= read", "B"]


async def test_client_certificate_flow_needs_a_generated_ca_and_a_password_of_eight(
    hass: HomeAssistant,
) -> None:
    entry = await async_create_server(hass)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "client_certificate"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": " ", "role": "Operator", "days": 30, "password": "short"}
    )
    assert result["errors"] == {"name": "name_required", "password": "password_too_short"}
    ca = certs.CertificateAuthority.create("Own CA")
    server = ca.issue_server("modbus.local", ["127.0.0.1"])
    own = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        data={
            **entry.data,
            "port": find_free_port(),
            "tls_certificate": server.certificate_pem.decode(),
            "tls_key": server.key_pem().decode(),
            "tls_client_ca": ca.certificate_pem.decode(),
            "tls_ca_key": None,
        },
    )
    own.add_to_hass(hass)
    result = await hass.config_entries.subentries.async_init(
        (own.entry_id, "client_certificate"), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_generated_ca"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_server_certificate_expiry_raises_a_repair_then_the_expired_one(
    hass: HomeAssistant, freezer: Any
) -> None:
    ca = certs.CertificateAuthority.create("Short CA")
    server = ca.issue_server("modbus.local", ["127.0.0.1"], days=11)  # from yesterday: 10 left
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        title="Secure plant",
        data={
            "name": "Secure plant",
            "transport": "tls",
            "bind_address": "127.0.0.1",
            "port": find_free_port(),
            "tls_certificate": server.certificate_pem.decode(),
            "tls_key": server.key_pem().decode(),
            "tls_client_ca": ca.certificate_pem.decode(),
            "max_connections": 10,
            "max_connections_per_host": 8,
            "idle_timeout": 0,
            "allowed_clients": [],
            "write_timeout": 5.0,
            "unknown_unit": "exception",
            "read_only": False,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issues = ir.async_get(hass)
    soon = issues.async_get_issue(DOMAIN, f"certificate_expires_{entry.entry_id}")
    assert soon is not None
    assert soon.translation_placeholders is not None
    assert soon.translation_placeholders["days"] in ("9", "10")
    assert issues.async_get_issue(DOMAIN, f"certificate_expired_{entry.entry_id}") is None
    # the daily check, eleven days later
    freezer.tick(datetime.timedelta(days=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, f"certificate_expires_{entry.entry_id}") is None
    expired = issues.async_get_issue(DOMAIN, f"certificate_expired_{entry.entry_id}")
    assert expired is not None
    assert expired.severity is ir.IssueSeverity.ERROR
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_certificate_far_from_expiry_raises_nothing(hass: HomeAssistant) -> None:
    entry = await async_create_server(hass)
    assert not [i for i in ir.async_get(hass).issues.values() if "certificate" in i.issue_id]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_keeps_the_generated_ca_and_generate_replaces_it(
    hass: HomeAssistant,
) -> None:
    entry = await async_create_server(hass)
    ca, ca_key = entry.data["tls_client_ca"], entry.data["tls_ca_key"]

    async def reconfigure(**fields: Any) -> None:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"transport": "tls"}
        )
        form = server_form(entry.data["port"], **fields)
        del form["unit_id"], form["unmapped"]
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
        assert result["type"] is FlowResultType.ABORT, result.get("errors")
        await hass.async_block_till_done()

    # the PEM as shown, the key field left empty: same CA, its key kept, new policy applied
    await reconfigure(
        tls_generate=False,
        tls_certificate=entry.data["tls_certificate"],
        tls_key="",
        tls_client_ca=ca,
        tls_null_role="read-write",
    )
    assert entry.data["tls_ca_key"] == ca_key
    assert only_device(entry).device.rights == {None: Rights.READ_WRITE}
    await async_issue(hass, entry, "plc-2", "Operator")
    # generate again: a new CA replaces the old one
    await reconfigure()
    assert entry.data["tls_client_ca"] != ca
    assert entry.data["tls_ca_key"] != ca_key
    assert await hass.config_entries.async_unload(entry.entry_id)
