"""One device at runtime: its settings, its compiled table, the bridge serving it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.const import CONF_NAME
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from ..bridge import Bridge
from ..const import (
    CONF_IDENTIFICATION,
    CONF_READ_ONLY,
    CONF_ROLES,
    CONF_STALE_AFTER,
    CONF_UNIT_IDS,
    CONF_UNMAPPED,
    CONF_WRITE_MODE,
    DEFAULT_UNMAPPED,
    DOMAIN,
    WRITE_MODE_DEFAULT,
)
from ..helpers import identification_text, point_from_data
from ..modbus import Device, DeviceIdentification, Rights
from ..modbus.device import ReadCallback
from ..owned import OwnedStore
from ..registermap import RegisterMap, UnmappedPolicy
from ..table_store import ROW_ID

_IDENTIFICATION_FIELDS = (
    "vendor_name",
    "product_code",
    "revision",
    "vendor_url",
    "product_name",
    "model_name",
    "user_application_name",
)


@dataclass(frozen=True, slots=True)
class DeviceSettings:
    """A device subentry's settings, parsed once."""

    device_id: str
    name: str
    unit_ids: frozenset[int] | None
    unmapped: UnmappedPolicy
    read_only: bool
    stale_after: float | None
    identification: DeviceIdentification
    roles: tuple[tuple[str, Rights], ...] = ()  # TLS: (role, rights), sorted; others: none

    @classmethod
    def from_data(cls, device_id: str, data: Mapping[str, Any], *, revision: str) -> DeviceSettings:
        """Parse a device subentry's data; FC43 objects default to what v1 servers sent."""
        name = str(data.get(CONF_NAME) or device_id)
        units = data.get(CONF_UNIT_IDS)
        objects: dict[str, str] = {
            "vendor_name": "Home Assistant",
            "product_code": DOMAIN,
            "revision": revision,
            # A long name is cut to what one FC43 object holds (an override is checked).
            "product_name": identification_text(name),
            "model_name": "Modbus server",
            "user_application_name": identification_text(name),
        }
        overrides = data.get(CONF_IDENTIFICATION) or {}
        objects.update(
            {key: str(value) for key, value in overrides.items() if key in _IDENTIFICATION_FIELDS}
        )
        stale_after = data.get(CONF_STALE_AFTER)
        roles = data.get(CONF_ROLES) or {}
        return cls(
            device_id=device_id,
            name=name,
            unit_ids=None if units is None else frozenset(int(u) for u in units),
            unmapped=UnmappedPolicy(data.get(CONF_UNMAPPED, DEFAULT_UNMAPPED)),
            read_only=bool(data.get(CONF_READ_ONLY, False)),
            stale_after=None if stale_after in (None, "", 0) else float(stale_after),
            identification=DeviceIdentification(
                vendor_name=objects["vendor_name"],
                product_code=objects["product_code"],
                revision=objects["revision"],
                vendor_url=objects.get("vendor_url", ""),
                product_name=objects["product_name"],
                model_name=objects["model_name"],
                user_application_name=objects["user_application_name"],
            ),
            roles=tuple(sorted((str(role), Rights(right)) for role, right in roles.items())),
        )

    def rights(self, null_role: Rights) -> dict[str | None, Rights]:
        """The core's role -> rights of a TLS server: the NULL role (None) gets `null_role`."""
        return {None: null_role, **dict(self.roles)}


@dataclass(frozen=True, slots=True)
class CompiledTable:
    """A device's rows compiled and validated: what `DeviceRuntime` serves them from."""

    register_map: RegisterMap
    write_modes: Mapping[str, str]
    """Row id -> its write mode."""
    row_stale_after: Mapping[str, float | str | None]
    """Row id -> its staleness override (None: the device's)."""


def compile_table(rows: Iterable[Mapping[str, Any]], unmapped: UnmappedPolicy) -> CompiledTable:
    """Parse, compile and validate a device's rows (MapValidationError for a bad table).

    Pure and thread-safe (it touches neither Home Assistant nor the running server): a live
    edit runs it in the executor, so a 5 000-row compile does not hold up the requests the
    event loop serves meanwhile.
    """
    rows = list(rows)
    return CompiledTable(
        register_map=RegisterMap(
            [point_from_data(row, str(row[ROW_ID])) for row in rows], unmapped=unmapped
        ),
        write_modes={
            str(row[ROW_ID]): row.get(CONF_WRITE_MODE, WRITE_MODE_DEFAULT) for row in rows
        },
        row_stale_after={str(row[ROW_ID]): row.get(CONF_STALE_AFTER) for row in rows},
    )


class DeviceRuntime:
    """A device's compiled table and bridge, and the core `Device` that serves them.

    Building one from rows compiles and validates the table (MapValidationError for a bad
    one; a `CompiledTable` from `compile_table` is used as it is) without touching the running
    server; `async_start` follows the sources and fills the encoded view.
    The owned values live in an `OwnedStore` handed from one runtime of the device to the next,
    so a table edit keeps them.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        settings: DeviceSettings,
        table: CompiledTable | Iterable[Mapping[str, Any]],
        *,
        owned: OwnedStore | None = None,
        server_read_only: bool = False,
        write_timeout: float | None = None,
        entry_id: str = "",
        wrap_read: Callable[[ReadCallback], ReadCallback] | None = None,
        tls_null_role: Rights | None = None,
    ) -> None:
        """Compile the rows; nothing listens or serves until `async_start`.

        `wrap_read` wraps the bridge's `on_read` for the core (the table view records reads).
        `tls_null_role`: set on a TLS server only, whose clients' roles then decide what they
        may do (the device's roles, the NULL role gets this); None: no role-based checks.
        """
        if not isinstance(table, CompiledTable):
            table = compile_table(table, settings.unmapped)
        self.settings = settings
        self.register_map = table.register_map
        self.owned = owned if owned is not None else OwnedStore()
        read_only = server_read_only or settings.read_only
        extra: dict[str, Any] = {} if write_timeout is None else {"write_timeout": write_timeout}
        self.bridge = Bridge(
            hass,
            self.register_map,
            self.owned,
            read_only=read_only,
            write_modes=table.write_modes,
            stale_after=settings.stale_after,
            row_stale_after=table.row_stale_after,
            entry_id=entry_id,
            build_view=False,  # async_start fills it, just before the swap
            **extra,
        )
        self.device = Device(
            on_read=self.bridge.on_read if wrap_read is None else wrap_read(self.bridge.on_read),
            # Read-only: the core answers every write with IllegalFunction (01).
            on_write=None if read_only else self.bridge.on_write,
            unit_ids=settings.unit_ids,
            identification=settings.identification,
            name=settings.name,
            rights=None if tls_null_role is None else settings.rights(tls_null_role),
        )
        self._stop: CALLBACK_TYPE | None = None

    @callback
    def async_start(self) -> None:
        """Follow the sources' state changes and build the encoded view."""
        if self._stop is None:
            self._stop = self.bridge.async_start()

    @callback
    def async_stop(self) -> None:
        """Stop following the sources (the runtime was replaced or unloaded)."""
        if self._stop is not None:
            self._stop()
            self._stop = None
