"""The base of the table flows: which device, its rows, storing them, and a preview."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import probatio
from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import ATTR_DEVICE_CLASS, STATE_UNKNOWN
from homeassistant.core import State, split_entity_id
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.util.ulid import ulid_now

from ..const import SUBENTRY_DEVICE
from ..helpers import AREA_ABBREVIATIONS, data_from_point, point_from_data, safety_relevant
from ..registermap import Point
from ..table_store import ROW_ID, Row, TableStore, async_get_table_store

CONF_DEVICE = "device"
"""The device step's field: the subentry id of the device the rows are for."""

PREVIEW_ROWS = 50


class TableFlow(ConfigSubentryFlow):
    """Shared helpers of the address-table subentry flows."""

    _device_id: str | None = None
    _tables: TableStore | None = None

    def _state(self, entity_id: str | None) -> State | None:
        """The entity's state, for a binding to refine its default data type.

        An entity without a state yet (its integration not loaded) is described by its
        registry entry's device class, so a timestamp sensor still defaults to uint32.
        """
        if not entity_id:
            return None
        state = self.hass.states.get(entity_id)
        if state is None and (device_class := self._device_class(entity_id)):
            return State(entity_id, STATE_UNKNOWN, {ATTR_DEVICE_CLASS: device_class})
        return state

    def _device_class(self, entity_id: str) -> str | None:
        """Device class from the state, else from the entity registry."""
        state = self.hass.states.get(entity_id)
        if state is not None and (device_class := state.attributes.get(ATTR_DEVICE_CLASS)):
            return str(device_class)
        if entry := er.async_get(self.hass).async_get(entity_id):
            return entry.device_class or entry.original_device_class
        return None

    def _safety_relevant(self, entity_id: str) -> bool:
        """Lock, alarm panel or door-like cover (see helpers.safety_relevant)."""
        return safety_relevant(split_entity_id(entity_id)[0], self._device_class(entity_id))

    async def async_step_device(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the device the rows are for (asked only when the server has several)."""
        devices = self._get_entry().get_subentries_of_type(SUBENTRY_DEVICE)
        if not devices:
            return self.async_abort(reason="no_devices")
        if user_input is not None or len(devices) == 1:
            chosen = devices[0].subentry_id if user_input is None else user_input[CONF_DEVICE]
            await self._async_use_device(chosen)
            return await self.async_step_user()
        return self.async_show_form(
            step_id="device",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_DEVICE, default=devices[0].subentry_id): (
                        SelectSelector(
                            SelectSelectorConfig(
                                options=[
                                    SelectOptionDict(value=d.subentry_id, label=d.title)
                                    for d in devices
                                ],
                                mode=SelectSelectorMode.LIST,
                            )
                        )
                    )
                }
            ),
        )

    async def _async_use_device(self, device_id: str) -> None:
        """Work on this device's table from now on."""
        self._device_id = device_id
        self._tables = await async_get_table_store(self.hass, self._get_entry().entry_id)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The flow's first step (after the device step)."""
        raise NotImplementedError

    def _rows(self) -> tuple[Row, ...]:
        assert self._tables is not None
        assert self._device_id is not None
        return self._tables.rows(self._device_id)

    def _existing(self, exclude: str | None = None) -> list[Point]:
        """The device's stored rows as points (optionally leaving one out)."""
        return [
            point_from_data(row, str(row[ROW_ID])) for row in self._rows() if row[ROW_ID] != exclude
        ]

    async def _async_set_rows(self, rows: list[Mapping[str, Any]]) -> None:
        """Store the device's new table; the running server swaps it in (no restart)."""
        assert self._tables is not None
        assert self._device_id is not None
        await self._tables.async_set_rows(self._device_id, rows)

    async def _async_add_points(
        self, points: list[Point], settings: list[dict[str, Any]] | None = None
    ) -> SubentryFlowResult:
        """Append every point as a row of the device's table, then finish.

        `settings` (one per point, e.g. an import's stale_after/write_mode) join its row.
        """
        extra = settings or [{} for _ in points]
        new = [
            {**data_from_point(point), **own, ROW_ID: ulid_now()}
            for point, own in zip(points, extra, strict=True)
        ]
        await self._async_set_rows([*self._rows(), *new])
        return self.async_abort(
            reason="points_added", description_placeholders={"count": str(len(points))}
        )

    def _preview(self, points: list[Point], kept_read_only: frozenset[str] = frozenset()) -> str:
        """The first rows as a Markdown table; `kept_read_only`: sources marked and explained."""
        lines = ["| address | PLC | source | type | writable |", "|---|---|---|---|---|"]
        for point in points[:PREVIEW_ROWS]:
            where = f"{AREA_ABBREVIATIONS[point.area]} {point.address}"
            writable = "yes" if point.writable else "no"
            if point.source in kept_read_only:
                writable = "no ⚠"
            lines.append(
                f"| {where} | {point.plc_reference} | {point.source or point.name} "
                f"| {point.data_type} | {writable} |"
            )
        if len(points) > PREVIEW_ROWS:
            lines.append(f"| … {len(points) - PREVIEW_ROWS} more | | | | |")
        if kept_read_only:
            lines.append(
                "\n⚠ Locks, alarm panels and garage doors, gates and doors stay read-only "
                "here: any client that may connect could open them. To let clients write one, "
                "add its row on its own with Add register."
            )
        return "\n".join(lines)


class PreviewedTableFlow(TableFlow):
    """A flow that builds many rows, shows them, and adds them all on confirmation."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        super().__init__()
        self._points: list[Point] = []
        self._settings: list[dict[str, Any]] | None = None
        self._kept_read_only: frozenset[str] = frozenset()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show the resulting table; submitting creates every row."""
        if user_input is not None:
            return await self._async_add_points(self._points, self._settings)
        return self.async_show_form(
            step_id="confirm",
            data_schema=probatio.Schema({}),
            description_placeholders={
                "count": str(len(self._points)),
                "table": self._preview(self._points, self._kept_read_only),
            },
        )
