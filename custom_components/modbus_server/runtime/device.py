"""One device at runtime: its settings, its compiled table, the bridge serving it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from homeassistant.const import CONF_NAME
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from ..bridge import Bridge
from ..const import (
    CONF_IDENTIFICATION,
    CONF_INVERT_POWER,
    CONF_PRESET,
    CONF_PROFILE,
    CONF_READ_ONLY,
    CONF_ROLES,
    CONF_SIGN,
    CONF_SLOTS,
    CONF_STALE_AFTER,
    CONF_UNIT_IDS,
    CONF_UNMAPPED,
    CONF_WRITE_MODE,
    DEFAULT_PROFILE_STALE_AFTER,
    DEFAULT_UNMAPPED,
    DOMAIN,
    SIGN_EXPORT_POSITIVE,
    WRITE_MODE_DEFAULT,
)
from ..helpers import identification_text, point_from_data
from ..modbus import Device, DeviceIdentification, Rights
from ..modbus.device import ReadCallback
from ..owned import OwnedStore
from ..profiles import PROFILES
from ..profiles.compile import Options, ProfileTable, Stale
from ..registermap import Point, RegisterMap, UnmappedPolicy
from ..table_store import ROW_ID
from .profile import ProfileFeed

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
    profile: str | None = None
    """The profile's key for a profile device (its table is generated, not stored)."""
    preset: str | None = None
    slots: tuple[tuple[str, str], ...] = ()
    """(slot name, entity id) pairs feeding a profile device."""
    invert_power: bool = False
    """Negate the signed slots: the entities count export positive (or are wired reversed)."""
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
        profile = data.get(CONF_PROFILE)
        if profile and "model_name" not in overrides and profile in PROFILES:
            objects["model_name"] = PROFILES[profile].name
        stale_after = data.get(CONF_STALE_AFTER)
        if profile and stale_after in (None, ""):  # profiles default to a maximum age; 0 is off
            stale_after = DEFAULT_PROFILE_STALE_AFTER
        invert = (data.get(CONF_SIGN) == SIGN_EXPORT_POSITIVE) != bool(
            data.get(CONF_INVERT_POWER, False)
        )
        slots = data.get(CONF_SLOTS) or {}
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
            profile=str(profile) if profile else None,
            preset=data.get(CONF_PRESET) or None,
            slots=tuple(sorted((str(k), str(v)) for k, v in slots.items() if v)),
            invert_power=invert,
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
    sources: Mapping[str, tuple[Mapping[str, Any], Point]] = field(default_factory=dict)
    """Row id -> (the row, the point compiled from it): what the next edit reuses."""


def compile_table(
    rows: Iterable[Mapping[str, Any]],
    unmapped: UnmappedPolicy,
    previous: CompiledTable | None = None,
) -> CompiledTable:
    """Parse, compile and validate a device's rows (MapValidationError for a bad table).

    Pure and thread-safe (it touches neither Home Assistant nor the running server): a live
    edit runs it in the executor, so a 5 000-row compile does not hold up the requests the
    event loop serves meanwhile. `previous` is the table being replaced: a row equal to the
    one it was compiled from keeps that point (no parse, no checks in isolation, its codec),
    so an edit costs what the changed rows and the checks across the table cost.
    """
    rows = list(rows)
    before = previous.sources if previous is not None else {}
    sources: dict[str, tuple[Mapping[str, Any], Point]] = {}
    points: list[Point] = []
    for row in rows:
        row_id = str(row[ROW_ID])
        source = before.get(row_id)
        if source is None or source[0] != row:
            # The store's rows are read-only (kept as they are); other rows are copied, so
            # that a caller changing its dict cannot make the next edit skip that row.
            kept = row if isinstance(row, MappingProxyType) else dict(row)
            source = (kept, point_from_data(row, row_id))
        sources[row_id] = source
        points.append(source[1])
    return CompiledTable(
        register_map=RegisterMap(
            points,
            unmapped=unmapped,
            previous=None if previous is None else previous.register_map,
        ),
        write_modes={
            str(row[ROW_ID]): row.get(CONF_WRITE_MODE, WRITE_MODE_DEFAULT) for row in rows
        },
        row_stale_after={str(row[ROW_ID]): row.get(CONF_STALE_AFTER) for row in rows},
        sources=sources,
    )


class DeviceRuntime:
    """A device's compiled table and bridge, and the core `Device` that serves them.

    Building one from rows compiles and validates the table (MapValidationError for a bad
    one; a `CompiledTable` from `compile_table` is used as it is) without touching the running
    server; `async_start` follows the sources and fills the encoded view.
    A live edit builds the new runtime from the running one (`previous`): the owned values
    (an `OwnedStore`) and a profile's held writes are handed on, so the edit keeps them, and
    the bridge takes over the running one's sources and values of the unchanged rows.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        settings: DeviceSettings,
        table: CompiledTable | Iterable[Mapping[str, Any]],
        *,
        previous: DeviceRuntime | None = None,
        server_read_only: bool = False,
        write_timeout: float | None = None,
        entry_id: str = "",
        wrap_read: Callable[[ReadCallback], ReadCallback] | None = None,
        tls_null_role: Rights | None = None,
    ) -> None:
        """Compile the rows; nothing listens or serves until `async_start`.

        `previous`: the device's running runtime, which this one replaces (a live edit).
        `wrap_read` wraps the bridge's `on_read` for the core (the table view records reads).
        A profile device ignores `table` and compiles its profile (ProfileError, a ValueError,
        for unusable settings), keeping the writes `previous` held.
        `tls_null_role`: set on a TLS server only, whose clients' roles then decide what they
        may do (the device's roles, the NULL role gets this); None: no role-based checks.
        """
        self.settings = settings
        self.profile: ProfileFeed | None = None
        self._stop: CALLBACK_TYPE | None = None
        self.owned: OwnedStore = previous.owned if previous is not None else OwnedStore()
        self.table: CompiledTable | None = None
        """The compiled table of a table device (the next edit compiles against it)."""
        if settings.profile is not None:  # its table is the profile's (a stored one is empty)
            held = {} if previous is None else previous.held
            self._init_profile(hass, server_read_only, held, wrap_read, tls_null_role)
            return
        if not isinstance(table, CompiledTable):
            table = compile_table(
                table, settings.unmapped, None if previous is None else previous.table
            )
        self.table = table
        self.register_map = table.register_map
        read_only = server_read_only or settings.read_only
        extra: dict[str, Any] = {} if write_timeout is None else {"write_timeout": write_timeout}
        self._bridge: Bridge = Bridge(
            hass,
            self.register_map,
            self.owned,
            read_only=read_only,
            write_modes=table.write_modes,
            stale_after=settings.stale_after,
            row_stale_after=table.row_stale_after,
            entry_id=entry_id,
            build_view=False,  # async_start fills it, just before the swap
            previous=None if previous is None or previous.profile else previous._bridge,
            **extra,
        )
        self.device = Device(
            on_read=self._bridge.on_read if wrap_read is None else wrap_read(self._bridge.on_read),
            # Read-only: the core answers every write with IllegalFunction (01).
            on_write=None if read_only else self._bridge.on_write,
            unit_ids=settings.unit_ids,
            identification=settings.identification,
            name=settings.name,
            rights=None if tls_null_role is None else settings.rights(tls_null_role),
        )

    def _init_profile(
        self,
        hass: HomeAssistant,
        server_read_only: bool,
        held: Mapping[str, int],
        wrap_read: Callable[[ReadCallback], ReadCallback] | None,
        tls_null_role: Rights | None,
    ) -> None:
        """Compile the device's profile and serve it from its slot entities."""
        settings = self.settings
        profile = PROFILES.get(settings.profile or "")
        if profile is None:
            raise ValueError(f"unknown profile {settings.profile!r}")
        units = sorted(settings.unit_ids or ())
        table = ProfileTable(
            profile,
            Options(
                bound=frozenset(name for name, _ in settings.slots),
                invert_power=settings.invert_power,
                stale=Stale.FAIL,
                preset=settings.preset,
                unit_id=units[0] if units else None,
            ),
        )
        table.held.update({k: v for k, v in held.items() if k in table.held})
        feed = ProfileFeed(hass, table, dict(settings.slots), stale_after=settings.stale_after)
        self.profile = feed
        self.register_map = table.table
        read_only = server_read_only or settings.read_only or not table.held
        self.device = Device(
            on_read=feed.on_read if wrap_read is None else wrap_read(feed.on_read),
            on_write=None if read_only else feed.on_write,
            unit_ids=frozenset(units) if units else frozenset({table.unit_id}),
            identification=settings.identification,
            name=settings.name,
            rights=None if tls_null_role is None else settings.rights(tls_null_role),
        )

    @property
    def held(self) -> dict[str, int]:
        """What a profile device keeps of its consumers' writes (empty for tables)."""
        return {} if self.profile is None else dict(self.profile.table.held)

    @property
    def bridge(self) -> Bridge:
        """The bridge of a table device (a profile device has `profile` instead)."""
        if self.profile is not None:
            raise AttributeError(f"{self.settings.name} is a profile device: no bridge")
        return self._bridge

    @property
    def reader(self) -> Bridge | ProfileFeed:
        """What serves reads: the bridge, or a profile device's feed (the table view)."""
        return self.profile if self.profile is not None else self._bridge

    @callback
    def async_start(self) -> None:
        """Follow the sources' state changes and build the encoded view."""
        if self._stop is None:
            self._stop = self.reader.async_start()

    @callback
    def async_stop(self) -> None:
        """Stop following the sources (the runtime was replaced or unloaded)."""
        if self._stop is not None:
            self._stop()
            self._stop = None
