"""Websocket commands of the table view (admin only).

`rows` returns one compact payload per device: the field names once, then one array per
row, plus the values every row serves now. `subscribe` then pushes changed values (and a
note when the table itself changed). Unknown servers, devices and rows are `not_found`
errors; a changed row that the flow would refuse comes back as `errors` (per field: the
flow's error key and its message) and nothing is stored.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

import probatio as vol
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin,
    websocket_command,
)
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import slugify

from ..const import (
    CONF_ADDRESS,
    CONF_BIT,
    CONF_BYTE_ORDER,
    CONF_DATA_TYPE,
    CONF_DESCRIPTION,
    CONF_LENGTH,
    CONF_OFFSET,
    CONF_SCALE,
    CONF_UNAVAILABLE_VALUE,
    CONF_UNIT,
    CONF_WORD_ORDER,
    CONF_WRITABLE,
)
from ..registermap import ByteOrder, DataType, WordOrder, export_csv
from . import source
from .activity import activity_of
from .editing import async_messages, check_row, edited_point
from .live import LiveRows

if TYPE_CHECKING:
    from ..models import ModbusServerConfigEntry
    from ..registermap import Point

PREFIX: Final = "modbus_server/table"

ROW_FIELDS: Final = (
    "key",
    "area",
    "address",
    "plc",
    "data_type",
    "order",
    "bit",
    "length",
    "count",
    "scale",
    "offset",
    "unit",
    "source",
    "name",
    "description",
    "writable",
    "unavailable_value",
)
"""The order of a row's array in `rows` results."""

DEVICE: Final[dict[Any, Any]] = {vol.Required("entry_id"): str, vol.Required("device_id"): str}

_NUMBER = vol.Any(None, vol.Coerce(float))
CHANGES: Final = vol.Schema(
    {
        vol.Optional("name"): str,
        vol.Optional(CONF_DESCRIPTION): str,
        vol.Optional(CONF_ADDRESS): vol.Coerce(int),
        vol.Optional(CONF_DATA_TYPE): vol.In([data_type.value for data_type in DataType]),
        vol.Optional(CONF_SCALE): vol.Coerce(float),
        vol.Optional(CONF_OFFSET): vol.Coerce(float),
        vol.Optional(CONF_UNIT): vol.Any(None, str),
        vol.Optional(CONF_WRITABLE): bool,
        vol.Optional(CONF_WORD_ORDER): vol.In([order.value for order in WordOrder]),
        vol.Optional(CONF_BYTE_ORDER): vol.In([order.value for order in ByteOrder]),
        vol.Optional(CONF_BIT): vol.Any(None, vol.Coerce(int)),
        vol.Optional(CONF_LENGTH): vol.Any(None, vol.Coerce(int)),
        vol.Optional(CONF_UNAVAILABLE_VALUE): _NUMBER,
    }
)


def async_register_commands(hass: HomeAssistant) -> None:
    """Register every command of the table view."""
    for command in (
        ws_servers,
        ws_rows,
        ws_subscribe,
        ws_activity,
        ws_update_row,
        ws_delete_rows,
        ws_export,
    ):
        async_register_command(hass, command)


def encode_row(point: Point) -> list[Any]:
    """A row as the array `ROW_FIELDS` names."""
    return [
        point.key,
        str(point.area),
        point.address,
        point.plc_reference,
        str(point.data_type),
        point.layout,
        point.bit,
        point.length,
        point.register_count,
        point.scale,
        point.offset,
        point.unit,
        point.source,
        point.name,
        point.description,
        point.writable,
        point.unavailable_value,
    ]


def encode_value(value: source.RowValue) -> list[Any]:
    """[raw cells or None, engineering value or None, exception name or None, not bound].

    The engineering value is None when the source is unavailable, or, with `not bound`
    true, when a profile row has no slot to take it from (the panel then shows none).
    """
    return [value.cells, value.value, value.error, value.not_bound]


def _device(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> ModbusServerConfigEntry | None:
    """The server of a command naming a device; sends not_found and returns None if unknown."""
    entry = source.get_server(hass, msg["entry_id"])
    if entry is None:
        connection.send_error(msg["id"], ERR_NOT_FOUND, f"No Modbus server {msg['entry_id']}")
        return None
    if not source.has_device(entry, msg["device_id"]):
        connection.send_error(
            msg["id"],
            ERR_NOT_FOUND,
            f"{entry.title} has no device {msg['device_id']}",
        )
        return None
    return entry


@require_admin
@websocket_command({vol.Required("type"): f"{PREFIX}/servers"})
@callback
def ws_servers(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Every server with its devices and their row counts."""
    connection.send_result(
        msg["id"],
        {
            "servers": [
                {
                    "entry_id": entry.entry_id,
                    "title": entry.title,
                    "state": entry.state.value,
                    "devices": [
                        {
                            "id": device.id,
                            "name": device.name,
                            "unit_ids": device.unit_ids,
                            "rows": len(source.device_rows(entry, device.id)),
                        }
                        for device in source.list_devices(entry)
                    ],
                }
                for entry in source.servers(hass)
            ]
        },
    )


@require_admin
@websocket_command({vol.Required("type"): f"{PREFIX}/rows", **DEVICE})
@callback
def ws_rows(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """A device's rows and the values they serve now, in one payload."""
    if (entry := _device(hass, connection, msg)) is None:
        return
    points = source.device_rows(entry, msg["device_id"])
    values = source.row_values(entry, points)
    connection.send_result(
        msg["id"],
        {
            "fields": ROW_FIELDS,
            "rows": [encode_row(point) for point in points],
            "values": {key: encode_value(value) for key, value in values.items()},
            "running": source.is_running(entry),
            "editable": source.is_editable(entry, msg["device_id"]),
        },
    )


@require_admin
@websocket_command({vol.Required("type"): f"{PREFIX}/subscribe", **DEVICE})
@callback
def ws_subscribe(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Push changed values (batched) and table changes of a device while subscribed."""
    if (entry := _device(hass, connection, msg)) is None:
        return
    msg_id = msg["id"]

    @callback
    def send(event: dict[str, Any]) -> None:
        connection.send_message(event_message(msg_id, event))

    live = LiveRows(hass, entry, msg["device_id"], send, encode_value)
    connection.subscriptions[msg_id] = live.async_start()
    connection.send_result(msg_id)


@require_admin
@websocket_command({vol.Required("type"): f"{PREFIX}/activity", **DEVICE})
@callback
def ws_activity(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Per row: when a client last read it (whole) and last wrote it (Unix time)."""
    if (entry := _device(hass, connection, msg)) is None:
        return
    points = source.device_rows(entry, msg["device_id"])
    activity = activity_of(hass, entry.entry_id, msg["device_id"])
    connection.send_result(
        msg["id"],
        {
            "now": time.time(),
            "read": activity.last_reads(points),
            "write": activity.last_writes(points),
        },
    )


@require_admin
@websocket_command(
    {
        vol.Required("type"): f"{PREFIX}/update_row",
        **DEVICE,
        vol.Required("key"): str,
        vol.Required("changes"): CHANGES,
        vol.Optional("language"): str,
    }
)
@async_response
async def ws_update_row(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Change one row; refused changes come back as per-field errors, nothing stored."""
    if (entry := _device(hass, connection, msg)) is None:
        return
    device_id, key = msg["device_id"], msg["key"]
    point = source.find_row(entry, device_id, key)
    if point is None:
        connection.send_error(msg["id"], ERR_NOT_FOUND, f"{entry.title} has no row {key}")
        return
    changed = edited_point(point, msg["changes"])
    errors, placeholders = check_row(changed, source.other_rows(entry, device_id, key))
    if errors:
        language = msg.get("language") or hass.config.language
        messages = await async_messages(hass, language, errors, placeholders)
        connection.send_result(msg["id"], {"errors": messages})
        return
    source.update_row(hass, entry, changed)
    connection.send_result(msg["id"], {"row": encode_row(changed)})


@require_admin
@websocket_command(
    {
        vol.Required("type"): f"{PREFIX}/delete_rows",
        **DEVICE,
        vol.Required("keys"): vol.All([str], vol.Length(min=1)),
    }
)
@callback
def ws_delete_rows(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Delete rows, all or none (an unknown key deletes nothing)."""
    if (entry := _device(hass, connection, msg)) is None:
        return
    unknown = source.delete_rows(hass, entry, msg["device_id"], msg["keys"])
    if unknown:
        connection.send_error(
            msg["id"],
            ERR_NOT_FOUND,
            f"{entry.title} has no row {', '.join(unknown)}; nothing was deleted",
        )
        return
    connection.send_result(msg["id"], {"deleted": len(set(msg["keys"]))})


@require_admin
@websocket_command({vol.Required("type"): f"{PREFIX}/export", **DEVICE})
@callback
def ws_export(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """The device's table as CSV, in the import/export format of the integration."""
    if (entry := _device(hass, connection, msg)) is None:
        return
    points = source.device_rows(entry, msg["device_id"])
    settings = source.row_settings(entry, msg["device_id"])
    connection.send_result(
        msg["id"],
        {"filename": f"{slugify(entry.title)}.csv", "csv": export_csv(points, settings)},
    )
