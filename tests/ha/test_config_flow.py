"""Every branch of the server flow and the address-table subentry flows."""

from __future__ import annotations

import errno
import socket
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.modbus_server.const import DOMAIN
from custom_components.modbus_server.helpers import (
    identification_text,
    next_free_port,
    try_bind,
)

from .conftest import find_free_port, point_data, point_subentry, server_data

pytestmark = pytest.mark.usefixtures("socket_enabled")

FLOW = "custom_components.modbus_server.server_form"


def form_input(port: int, **overrides: Any) -> dict[str, Any]:
    """What a user submits in the server form."""
    return {
        CONF_NAME: "Plant",
        "bind_address": "127.0.0.1",
        CONF_PORT: port,
        "max_connections": 4,
        "max_connections_per_host": 4,
        "idle_timeout": 60,
        "unmapped": "zero",
        "allowed_clients": [],
        "read_only": False,
        **overrides,
    }


def reconfigure_input(port: int, **overrides: Any) -> dict[str, Any]:
    """What a user submits in the server's reconfigure form (no device settings there)."""
    data = form_input(port, **overrides)
    del data["unmapped"]
    return data


async def start_tcp_flow(hass: HomeAssistant) -> Any:
    """A new server: the transport choice, then the TCP form."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["step_id"] == "user"
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"transport": "tcp"})


async def start_tcp_reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Reconfigure a server: the transport choice (TCP kept), then the TCP form."""
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"transport": "tcp"})


# --- server entry: user step --------------------------------------------------------------


async def test_user_creates_entry_after_a_real_test_bind(hass: HomeAssistant, port: int) -> None:
    result = await start_tcp_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "tcp"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        form_input(
            port,
            unit_id=1,
            allowed_clients=["192.168.1.0/24, 10.0.0.5", "10.0.0.5/32", "fd00::1"],
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Plant"
    assert result["data"] == {
        "transport": "tcp",
        CONF_NAME: "Plant",
        "bind_address": "127.0.0.1",
        CONF_PORT: port,
        "max_connections": 4,
        "max_connections_per_host": 4,
        "idle_timeout": 60,
        "write_timeout": 5.0,
        "unknown_unit": "exception",
        "allowed_clients": ["192.168.1.0/24", "10.0.0.5", "fd00::1"],
        "read_only": False,
    }
    entry = result["result"]
    assert entry.version == 2
    assert entry.state.name == "LOADED"
    # The first device is created with the server: the unit id and unmapped policy asked,
    # and a name of its own (the integration page would show "Plant" twice).
    (device,) = entry.subentries.values()
    assert device.subentry_type == "device"
    assert device.title == "Plant device"
    assert device.data[CONF_NAME] == "Plant device"
    names = {d.name for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)}
    assert names == {"Plant", "Plant device"}  # the server's device and the Modbus device
    modbus_device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, device.subentry_id), entry.entry_id
    )
    assert modbus_device is not None
    assert modbus_device.model == "Modbus server, unit 1"  # the device list shows the unit
    assert device.data["unit_ids"] == [1]
    assert device.data["unmapped"] == "zero"
    assert entry.runtime_data.devices[device.subentry_id].settings.unit_ids == {1}
    await hass.config_entries.async_unload(entry.entry_id)


async def test_user_form_suggests_a_free_port(hass: HomeAssistant) -> None:
    with patch(f"{FLOW}.next_free_port", return_value=1502) as finder:
        result = await start_tcp_flow(hass)
    finder.assert_called_once()
    assert finder.call_args.args[1] == 502
    port_key = next(key for key in result["data_schema"].schema if key == CONF_PORT)
    assert port_key.default() == 1502


async def test_user_form_falls_back_to_502_without_free_port(hass: HomeAssistant) -> None:
    with patch(f"{FLOW}.next_free_port", return_value=None):
        result = await start_tcp_flow(hass)
    port_key = next(key for key in result["data_schema"].schema if key == CONF_PORT)
    assert port_key.default() == 502


async def test_user_form_suggests_an_unprivileged_port_without_root(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Below 1024 every bind is refused (as for a non-root Home Assistant): offer 5020 on."""
    real_bind = try_bind

    def bind(address: str, port: int) -> None:
        if port < 1024:
            raise OSError(errno.EACCES, "Permission denied")
        real_bind(address, port)

    with patch("custom_components.modbus_server.helpers.try_bind", side_effect=bind):
        result = await start_tcp_flow(hass)
    port_key = next(key for key in result["data_schema"].schema if key == CONF_PORT)
    assert port_key.default() >= 5020
    assert port_key.default() == next_free_port("0.0.0.0", 5020)


async def test_port_in_use_is_refused_and_the_next_free_port_suggested(
    hass: HomeAssistant, port: int
) -> None:
    result = await start_tcp_flow(hass)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form_input(port))
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_PORT: "port_in_use"}
        # the field is changed to the suggestion: the message names the refused port
        assert result["description_placeholders"]["port"] == str(port)
        suggested = int(result["description_placeholders"]["suggested_port"])
        assert suggested > port
        port_key = next(key for key in result["data_schema"].schema if key == CONF_PORT)
        assert port_key.default() == suggested

        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], form_input(suggested)
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PORT] == suggested
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_permission_denied_suggests_an_unprivileged_port(hass: HomeAssistant) -> None:
    result = await start_tcp_flow(hass)
    with (
        patch(f"{FLOW}.try_bind", side_effect=OSError(errno.EACCES, "denied")),
        patch(f"{FLOW}.next_free_port", return_value=5020) as finder,
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form_input(502))
    assert result["errors"] == {CONF_PORT: "permission_denied"}
    assert result["description_placeholders"] == {"port": "502", "suggested_port": "5020"}
    assert finder.call_args.args[1] == 5020


async def test_no_free_port_to_suggest(hass: HomeAssistant) -> None:
    result = await start_tcp_flow(hass)
    with (
        patch(f"{FLOW}.try_bind", side_effect=OSError(errno.EADDRINUSE, "in use")),
        patch(f"{FLOW}.next_free_port", return_value=None),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form_input(6000))
    assert result["errors"] == {CONF_PORT: "port_in_use"}
    assert result["description_placeholders"]["suggested_port"] == "-"


async def test_address_not_of_this_host_is_shown_on_bind_address(hass: HomeAssistant) -> None:
    result = await start_tcp_flow(hass)
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: a real bind fails.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(find_free_port(), bind_address="192.0.2.1")
    )
    assert result["errors"] == {"bind_address": "address_not_available"}


async def test_other_bind_errors(hass: HomeAssistant) -> None:
    result = await start_tcp_flow(hass)
    with patch(f"{FLOW}.try_bind", side_effect=OSError(errno.EINVAL, "invalid")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], form_input(find_free_port())
        )
    assert result["errors"] == {CONF_PORT: "cannot_bind"}


async def test_invalid_bind_address_and_allow_list(hass: HomeAssistant) -> None:
    result = await start_tcp_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        form_input(
            find_free_port(), bind_address="my-host", allowed_clients=["10.0.0.0/8", "nope"]
        ),
    )
    assert result["errors"] == {
        "bind_address": "invalid_bind_address",
        "allowed_clients": "invalid_allowed_clients",
    }
    assert result["description_placeholders"] == {"invalid": "nope"}
    # the refused entry stays in the list, to be corrected rather than typed again
    allowed = next(key for key in result["data_schema"].schema if key == "allowed_clients")
    assert allowed.default() == ["10.0.0.0/8", "nope"]


async def test_two_entries_cannot_share_a_port(hass: HomeAssistant, port: int) -> None:
    MockConfigEntry(domain=DOMAIN, title="Other", data=server_data(port)).add_to_hass(hass)
    result = await start_tcp_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(port, bind_address="all")
    )
    assert result["errors"] == {CONF_PORT: "port_configured"}
    assert int(result["description_placeholders"]["suggested_port"]) > port


async def test_bind_all_interfaces(hass: HomeAssistant) -> None:
    port = next_free_port("all", find_free_port())
    assert port is not None
    result = await start_tcp_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(port, bind_address="all", name="  ")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Modbus Server"
    entry = result["result"]
    assert entry.runtime_data.server.is_serving
    await hass.config_entries.async_unload(entry.entry_id)


# --- server entry: reconfigure -------------------------------------------------------------


async def test_reconfigure_keeps_the_table_and_reloads_once(hass: HomeAssistant, port: int) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Plant",
        data=server_data(port),
        subentries_data=[point_subentry(point_data("holding_register", 3, "int16"), "row1")],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    old_runtime = entry.runtime_data

    result = await start_tcp_reconfigure(hass, entry)
    assert result["step_id"] == "tcp"
    # Same address and port: the running server holds it, no bind test must fail.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(port, name="Plant 2", read_only=True)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.title == "Plant 2"
    assert entry.data["read_only"] is True
    (device_id,) = entry.subentries  # migrated: one device holding the row
    assert entry.runtime_data is not old_runtime
    assert entry.runtime_data.server.devices[0].on_write is None
    assert [p.key for p in entry.runtime_data.devices[device_id].register_map.points] == ["row1"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_to_a_taken_port(hass: HomeAssistant, port: int) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Plant", data=server_data(port))
    entry.add_to_hass(hass)
    other = find_free_port()
    result = await start_tcp_reconfigure(hass, entry)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", other))
        blocker.listen()
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], reconfigure_input(other)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PORT: "port_in_use"}


async def test_reconfigure_a_failed_server_sets_it_up_again(hass: HomeAssistant, port: int) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Plant", data=server_data(502))
    entry.add_to_hass(hass)
    with patch(
        "custom_components.modbus_server.transports.Server.start",
        side_effect=OSError(errno.EACCES, "Permission denied"),
    ):
        await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state.name == "SETUP_ERROR"

    result = await start_tcp_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(port)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state.name == "LOADED"
    assert entry.runtime_data.server.port == port
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_to_another_bind_address_on_the_same_port(
    hass: HomeAssistant, port: int
) -> None:
    """The running server holds the port: moving it to all interfaces is not 'port in use'."""
    entry = MockConfigEntry(domain=DOMAIN, title="Plant", data=server_data(port))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await start_tcp_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(port, bind_address="0.0.0.0")
    )
    assert result["type"] is FlowResultType.ABORT, result.get("errors")
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state.name == "LOADED"
    assert entry.runtime_data.server.addresses[0][:2] == ("0.0.0.0", port)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_further_server_is_offered_an_unused_name(hass: HomeAssistant) -> None:
    """The name becomes the device name: a second 'Modbus Server' could not be told apart."""
    for title in ("Modbus Server", "Modbus Server 2"):
        MockConfigEntry(domain=DOMAIN, title=title, data=server_data(find_free_port())).add_to_hass(
            hass
        )
    result = await start_tcp_flow(hass)
    name_key = next(key for key in result["data_schema"].schema if key == CONF_NAME)
    assert name_key.default() == "Modbus Server 3"


# --- server entry: limits, names and the allow-list -----------------------------------------


async def test_new_fields_default_and_are_stored(hass: HomeAssistant, port: int) -> None:
    result = await start_tcp_flow(hass)
    schema = {str(key): key for key in result["data_schema"].schema}
    assert schema["max_connections_per_host"].default() == 8
    assert schema["write_timeout"].default() == 5.0
    submitted = form_input(port, max_connections=10)
    del submitted["max_connections_per_host"]  # the form's default applies
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**submitted, "write_timeout": 0.5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["max_connections_per_host"] == 8
    assert result["data"]["write_timeout"] == 0.5
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_connections_per_host_above_the_maximum_is_refused(hass: HomeAssistant) -> None:
    result = await start_tcp_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        form_input(find_free_port(), max_connections=4, max_connections_per_host=5),
    )
    assert result["errors"] == {"max_connections_per_host": "per_host_above_max"}


async def test_write_timeout_outside_its_range_is_refused_by_the_form(hass: HomeAssistant) -> None:
    result = await start_tcp_flow(hass)
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(
            result["flow_id"], form_input(find_free_port(), write_timeout=0.1)
        )


async def test_reconfigure_an_entry_stored_without_the_new_fields(
    hass: HomeAssistant, port: int
) -> None:
    """Entries created before the per-host limit and the write timeout keep working."""
    entry = MockConfigEntry(domain=DOMAIN, title="Plant", data=server_data(port))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await start_tcp_reconfigure(hass, entry)
    schema = {str(key): key for key in result["data_schema"].schema}
    assert schema["max_connections_per_host"].default() == 8
    assert schema["write_timeout"].default() == 5.0
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(("name", "refused"), [("Ä" * 122, False), ("Ä" * 123, True)])
async def test_name_longer_than_a_device_identification_object_is_refused(
    hass: HomeAssistant, port: int, name: str, refused: bool
) -> None:
    """244 UTF-8 bytes fit one FC43 object; 123 x 'Ä' are 246."""
    result = await start_tcp_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(port, name=name)
    )
    if refused:
        assert result["errors"] == {CONF_NAME: "name_too_long"}
        assert result["description_placeholders"] == {"max_bytes": "244"}
    else:
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 244, "a" * 244),
        ("a" * 245, "a" * 244),
        ("a" * 243 + "Ä", "a" * 243),  # 'Ä' would be bytes 244 and 245: left out whole
        ("a" * 242 + "€x", "a" * 242),  # a 3-byte character across the limit
        ("Ä" * 122, "Ä" * 122),
    ],
)
def test_identification_text_cuts_at_244_bytes_never_inside_a_character(
    text: str, expected: str
) -> None:
    assert identification_text(text) == expected
    assert len(identification_text(text).encode()) <= 244


async def test_a_long_entry_title_is_cut_at_a_character_in_device_identification(
    hass: HomeAssistant, port: int
) -> None:
    """A device named after a long title (v1 migration): cut at 244 bytes, never in a character."""
    entry = MockConfigEntry(
        domain=DOMAIN, title="x" + "Ä" * 200, data=server_data(port, name="Ä" * 300)
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=3)
    assert await client.connect()
    try:
        # one object fills a response: read each on its own (individual access)
        product = await client.read_device_information(read_code=4, object_id=4)
        assert product.information[4].decode() == "x" + "Ä" * 121  # product name: the device
        individual = await client.read_device_information(read_code=4, object_id=6)
        assert individual.information[6].decode() == "x" + "Ä" * 121  # 243 bytes, not 244
    finally:
        client.close()
        await hass.config_entries.async_unload(entry.entry_id)


async def test_ipv4_mapped_allow_list_entries_become_ipv4(hass: HomeAssistant, port: int) -> None:
    result = await start_tcp_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        form_input(port, allowed_clients=["::ffff:127.0.0.1", "::ffff:10.1.2.0/120", "fd00::/8"]),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["allowed_clients"] == ["127.0.0.1", "10.1.2.0/24", "fd00::/8"]
    # the client on 127.0.0.1 is admitted over a real socket
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=3)
    assert await client.connect()
    try:
        response = await client.read_device_information(read_code=1)
        assert not response.isError()
    finally:
        client.close()
        await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize("everyone", ["0.0.0.0/0", "::/0", "::ffff:0.0.0.0/96"])
async def test_a_catch_all_allow_list_entry_must_be_confirmed(
    hass: HomeAssistant, port: int, everyone: str
) -> None:
    result = await start_tcp_flow(hass)
    submitted = form_input(port, allowed_clients=["10.0.0.5", everyone])
    result = await hass.config_entries.flow.async_configure(result["flow_id"], submitted)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        "base": "confirm_allowed_everyone",
        "allowed_clients": "allowed_clients_everyone",
    }
    shown = everyone.replace("::ffff:0.0.0.0/96", "0.0.0.0/0")
    assert result["description_placeholders"] == {"everyone": shown}
    # nothing is lost: the list is shown as typed; submitting it again keeps it
    allowed = next(key for key in result["data_schema"].schema if key == "allowed_clients")
    assert allowed.default() == ["10.0.0.5", everyone]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], submitted)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["allowed_clients"] == ["10.0.0.5", shown]
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_reconfigure_keeps_a_confirmed_catch_all_without_asking_again(
    hass: HomeAssistant, port: int
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title="Plant", data=server_data(port, allowed_clients=["0.0.0.0/0"])
    )
    entry.add_to_hass(hass)
    result = await start_tcp_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(port, allowed_clients=["0.0.0.0/0"])
    )
    assert result["type"] is FlowResultType.ABORT, result.get("errors")
    assert entry.data["allowed_clients"] == ["0.0.0.0/0"]
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)
