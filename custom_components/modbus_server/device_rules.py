"""The rules of a server's devices: their stored data and which unit ids they may answer.

Shared by the flows (which refuse a clash in the form), the migration and setup. A unit id
belongs to at most one device; "every unit id" (`unit_ids` None) only to a server's single
device. Unit ids 0 and 255 are ordinary ids here: a device answers them only when listed (the
README explains the Modbus TCP conventions behind them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeassistant.const import CONF_NAME

from .const import (
    CONF_IDENTIFICATION,
    CONF_READ_ONLY,
    CONF_ROLES,
    CONF_STALE_AFTER,
    CONF_UNIT_IDS,
    CONF_UNMAPPED,
    DEFAULT_UNMAPPED,
)
from .modbus import Rights

MAX_UNIT_ID = 255
IDENTIFICATION_FIELDS = ("vendor_name", "product_code", "model_name", "revision")
"""The FC43 objects a device may override (the others follow its name)."""


def first_device_name(server_name: str) -> str:
    """The name of the device created with a new server: not the server's own name.

    Named alike, the server and its device read twice the same on the integration page and in
    the device list. Migrated v1 servers keep a device named like the server instead: that
    name is what their clients read in the FC 43 identification.
    """
    return f"{server_name} device"


def device_data(
    *,
    name: str,
    unit_ids: list[int] | None,
    unmapped: str = DEFAULT_UNMAPPED,
    read_only: bool = False,
    stale_after: float | None = None,
    identification: Mapping[str, str] | None = None,
    roles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The data of a device subentry."""
    return {
        CONF_NAME: name,
        CONF_UNIT_IDS: None if unit_ids is None else sorted(set(unit_ids)),
        CONF_UNMAPPED: unmapped,
        CONF_READ_ONLY: read_only,
        CONF_STALE_AFTER: stale_after,
        CONF_IDENTIFICATION: dict(identification or {}),
        CONF_ROLES: dict(roles or {}),
    }


RIGHTS_WORDS: Mapping[str, Rights] = {
    "none": Rights.NONE,
    "read": Rights.READ,
    "read-write": Rights.READ_WRITE,
    "readwrite": Rights.READ_WRITE,
    "read/write": Rights.READ_WRITE,
    "rw": Rights.READ_WRITE,
}
"""What a roles line may say after '=' (case does not matter)."""


def parse_roles(text: str) -> tuple[dict[str, str], list[str]]:
    """Roles typed one a line as 'Operator = read-write'; returns (role -> rights, bad lines).

    A role is the exact text of a client certificate's role extension (case matters, as it
    does there); rights are none, read or read-write. A role listed twice is a bad line.
    """
    roles: dict[str, str] = {}
    invalid: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        role, sep, word = line.rpartition("=")
        role = role.strip()
        rights = RIGHTS_WORDS.get(word.strip().lower())
        if not sep or not role or rights is None or role in roles:
            invalid.append(line.strip())
            continue
        roles[role] = rights.value
    return roles, invalid


def format_roles(roles: Mapping[str, str]) -> str:
    """The roles text of the device form (the inverse of `parse_roles`)."""
    return "\n".join(f"{role} = {rights}" for role, rights in roles.items())


def parse_unit_ids(text: str) -> tuple[list[int], list[str]]:
    """Unit ids typed as '1, 2 7' (commas or spaces); returns (ids, entries that are not)."""
    ids: list[int] = []
    invalid: list[str] = []
    for item in text.replace(",", " ").split():
        if item.isdigit() and 0 <= int(item) <= MAX_UNIT_ID:
            ids.append(int(item))
        else:
            invalid.append(item)
    return sorted(set(ids)), invalid


def format_unit_ids(unit_ids: Iterable[int]) -> str:
    """The inverse of `parse_unit_ids` for a form's default."""
    return ", ".join(str(unit) for unit in sorted(unit_ids))


def units_text(unit_ids: Iterable[int] | None) -> str:
    """The unit ids a device answers, for people: 'unit 2', 'units 1, 2', 'every unit id'."""
    if unit_ids is None:
        return "every unit id"
    units = sorted(unit_ids)
    return f"unit{'s' if len(units) > 1 else ''} {format_unit_ids(units)}"


def unit_conflict(
    unit_ids: list[int] | None, others: Iterable[tuple[str, list[int] | None]]
) -> tuple[str, str] | None:
    """Why a device may not answer `unit_ids` beside the `others` (name, unit ids).

    Returns (error key, the other device's name), or None when it may. Error keys:
    `any_unit_needs_single` (every unit id, but there are other devices),
    `other_answers_every` (another device answers every unit id), `unit_id_taken`.
    """
    others = list(others)
    if unit_ids is None and others:
        return "any_unit_needs_single", others[0][0]
    for name, units in others:
        if units is None:
            return "other_answers_every", name
        if unit_ids is not None and set(unit_ids) & set(units):
            return "unit_id_taken", name
    return None
