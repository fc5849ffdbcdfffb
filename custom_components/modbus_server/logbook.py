"""Logbook: say which Modbus client wrote what, on the entity it changed.

The bridge fires `modbus_server_write` once the service call returned, with the call's
`Context` and the time the call started, so the logbook links the entity's state change to
this event; describing the event turns it into a readable line on that entity ("written by
Modbus client 10.0.0.5 (unit 1): HR 100 = 21.5"; over TLS with the certificate's subject and
role: "Modbus client 10.0.0.5 [CN=plc-1, role Operator] (unit 1)") instead of an anonymous
change. A write
whose call failed or outlived the write deadline says so ("write by ... failed", "... timed
out"): the audit trail never shows it as written. Modelled on core's `homekit/logbook.py`.

The link relies on the event's time: the logbook takes the first recorded event of a context
as its origin, and the call's own `call_service` event is fired before ours, so ours is dated
at the call's start. A logbook opened while the write happens (its live stream orders by
arrival) names the action (`input_number.set_value`) on the change instead, and shows the
write as its own line; reloaded, it names the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.const import ATTR_ENTITY_ID, ATTR_FRIENDLY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import (
    DEFAULT_NAME,
    DOMAIN,
    EVENT_WRITE,
    RESULT_APPLIED,
    RESULT_FAILED,
    RESULT_TIMEOUT,
)
from .helpers import AREA_ABBREVIATIONS
from .modbus.area import Area


def describe_write(data: Mapping[str, Any]) -> str:
    """The logbook message of one `modbus_server_write` event's data."""
    client = data.get("client")
    who = "a Modbus client" if client is None else f"Modbus client {client}"
    if data.get("client_subject"):  # TLS: the certificate's subject and role
        role = data.get("client_role")
        who += f" [{data['client_subject']}, role {role or 'none (NULL role)'}]"
    if data.get("unit_id") is not None:
        who += f" (unit {data['unit_id']})"
    try:
        area = AREA_ABBREVIATIONS[Area(data["area"])]
    except KeyError, ValueError:
        area = str(data.get("area"))
    where = f"{area} {data.get('address')}"
    if data.get("bit") is not None:
        where += f".{data['bit']}"
    what = f"{where} = {format_value(data.get('value'))}"
    result = data.get("result", RESULT_APPLIED)  # events before 'result' existed were applied
    if result == RESULT_FAILED:
        return f"write by {who} failed: {what}"
    if result == RESULT_TIMEOUT:
        return f"write by {who} timed out: {what}"
    return f"written by {who}: {what}"


def format_value(value: object) -> str:
    """Booleans as the 1/0 the client wrote; floats without float32 noise (21.5, not 21.50000)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.7g}"
    return str(value)


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe `modbus_server_write` events."""

    @callback
    def async_describe_write(event: Event) -> dict[str, Any]:
        data = event.data
        entity_id = data.get(ATTR_ENTITY_ID)
        state = hass.states.get(entity_id) if entity_id else None
        if state is not None:
            name = str(state.attributes.get(ATTR_FRIENDLY_NAME) or entity_id)
        else:
            name = entity_id or DEFAULT_NAME
        return {
            LOGBOOK_ENTRY_NAME: name,
            LOGBOOK_ENTRY_MESSAGE: describe_write(data),
            LOGBOOK_ENTRY_ENTITY_ID: entity_id,
        }

    async_describe_event(DOMAIN, EVENT_WRITE, async_describe_write)
