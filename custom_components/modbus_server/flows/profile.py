"""The profile steps of the device flow: a device whose table is a published register map.

"Add device" -> "From a profile": pick the profile (and the consumer preset, when the
profile has presets: their unit id and constants), bind entities to its slots, then set the
name, unit id, sign convention and maximum age. Reconfiguring a profile device runs the slot
and settings steps again, pre-filled; the change is applied live like a table edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import probatio
from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, CONF_NAME
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    EntityWithDeviceFilterSelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from ..const import (
    CONF_INVERT_POWER,
    CONF_PRESET,
    CONF_PROFILE,
    CONF_SIGN,
    CONF_SLOTS,
    CONF_STALE_AFTER,
    CONF_UNIT_IDS,
    DEFAULT_PROFILE_STALE_AFTER,
    SIGN_EXPORT_POSITIVE,
    SIGN_IMPORT_POSITIVE,
    SUBENTRY_DEVICE,
)
from ..device_rules import device_data, format_unit_ids, parse_unit_ids, unit_conflict
from ..profiles import PROFILES
from ..profiles.compile import Options, ProfileError, ProfileTable
from ..profiles.model import Profile, Quantity
from ..profiles.units import FACTORS
from .selectors import box, suggested

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry

NO_PRESET = "none"
"""The preset choice for "none of these consumers": the profile's own unit id."""

_DEVICE_CLASSES: dict[Quantity, str] = {
    Quantity.POWER: "power",
    Quantity.REACTIVE_POWER: "reactive_power",
    Quantity.APPARENT_POWER: "apparent_power",
    Quantity.ENERGY: "energy",
    Quantity.VOLTAGE: "voltage",
    Quantity.CURRENT: "current",
    Quantity.FREQUENCY: "frequency",
    Quantity.POWER_FACTOR: "power_factor",
    Quantity.TEMPERATURE: "temperature",
}


def slot_selector(quantity: Quantity) -> EntitySelector:
    """Sensors of the slot's device class, and input_number helpers (any unit it accepts)."""
    filters: list[EntityWithDeviceFilterSelectorConfig] = [{"domain": "input_number"}]
    if (device_class := _DEVICE_CLASSES.get(quantity)) is not None:
        filters.insert(0, {"domain": "sensor", "device_class": device_class})
    else:
        filters.insert(0, {"domain": "sensor"})
    return EntitySelector(EntitySelectorConfig(filter=filters))


def profile_options() -> list[SelectOptionDict]:
    """Every profile, labelled with its name and the consumers that poll it."""
    return [
        SelectOptionDict(value=p.key, label=f"{p.name} ({p.consumers})")
        for p in sorted(PROFILES.values(), key=lambda p: p.name)
    ]


class ProfileSteps(ConfigSubentryFlow):
    """Steps of a profile device; mixed into the device flow."""

    _profile_data: dict[str, Any]

    def _profile(self) -> Profile:
        return PROFILES[self._profile_data[CONF_PROFILE]]

    async def async_step_profile(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the profile: the device a consumer (inverter, GX, charger) polls."""
        if user_input is not None:
            self._profile_data = {CONF_PROFILE: user_input[CONF_PROFILE], CONF_SLOTS: {}}
            if self._profile().presets:
                return await self.async_step_profile_preset()
            self._profile_data[CONF_PRESET] = None
            return await self.async_step_profile_slots()
        return self.async_show_form(
            step_id="profile",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_PROFILE): SelectSelector(
                        SelectSelectorConfig(
                            options=profile_options(), mode=SelectSelectorMode.DROPDOWN
                        )
                    )
                }
            ),
        )

    async def async_step_profile_preset(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which consumer polls it: its preset sets the unit id and constants it checks."""
        profile = self._profile()
        if user_input is not None:
            preset = user_input[CONF_PRESET]
            self._profile_data[CONF_PRESET] = None if preset == NO_PRESET else preset
            return await self.async_step_profile_slots()
        options = [
            SelectOptionDict(
                value=p.key,
                label=f"{p.name}: unit {p.unit_id}" + (f" ({p.note})" if p.note else ""),
            )
            for p in profile.presets
        ]
        options.append(
            SelectOptionDict(value=NO_PRESET, label=f"Another consumer: unit {profile.unit_id}")
        )
        return self.async_show_form(
            step_id="profile_preset",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_PRESET, default=profile.presets[0].key): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                }
            ),
            description_placeholders={"profile": profile.name},
        )

    async def async_step_profile_slots(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Entities for the profile's slots: the required ones, and any optional ones."""
        profile = self._profile()
        errors: dict[str, str] = {}
        placeholders = {"profile": profile.name, "units": "", "error": ""}
        slots: Mapping[str, str] = self._profile_data.get(CONF_SLOTS) or {}
        if user_input is not None:
            slots = {k: str(v) for k, v in user_input.items() if v and k in _names(profile)}
            errors, placeholders = self._check_slots(profile, slots, placeholders)
            if not errors:
                self._profile_data[CONF_SLOTS] = dict(slots)
                return await self.async_step_profile_settings()
        fields: dict[Any, Any] = {}
        for slot in sorted(profile.slots, key=lambda s: not s.required):
            marker = probatio.Required if slot.required else probatio.Optional
            fields[marker(slot.name, description=suggested(slots.get(slot.name)))] = slot_selector(
                slot.quantity
            )
        return self.async_show_form(
            step_id="profile_slots",
            data_schema=probatio.Schema(fields),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _check_slots(
        self, profile: Profile, slots: Mapping[str, str], placeholders: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Each entity's unit must convert to its slot's; the profile must compile."""
        errors: dict[str, str] = {}
        for name, entity_id in slots.items():
            state = self.hass.states.get(entity_id)
            unit = None if state is None else state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
            accepted = FACTORS[profile.slot(name).quantity]
            if state is not None and (unit or "") not in accepted:
                errors[name] = "unit_not_accepted"
                placeholders["units"] = ", ".join(repr(u) for u in accepted)
        if not errors:
            try:
                ProfileTable(profile, Options(bound=frozenset(slots)))
            except ProfileError as err:
                errors["base"] = "profile_invalid"
                placeholders["error"] = str(err)
        return errors, placeholders

    async def async_step_profile_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name, unit id, sign convention and maximum age; then the device is created."""
        profile = self._profile()
        data = self._profile_data
        reconfiguring = self.source == "reconfigure"
        subentry = self._get_reconfigure_subentry() if reconfiguring else None
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"invalid": "", "device": ""}
        preset_unit = (
            profile.preset(data[CONF_PRESET]).unit_id if data.get(CONF_PRESET) else profile.unit_id
        )
        defaults: dict[str, Any] = {
            CONF_NAME: profile.name if subentry is None else subentry.title,
            CONF_UNIT_IDS: format_unit_ids(data.get(CONF_UNIT_IDS) or [preset_unit]),
            CONF_SIGN: data.get(CONF_SIGN, SIGN_IMPORT_POSITIVE),
            CONF_INVERT_POWER: bool(data.get(CONF_INVERT_POWER, False)),
            CONF_STALE_AFTER: data.get(CONF_STALE_AFTER) or DEFAULT_PROFILE_STALE_AFTER,
        }
        if subentry is not None and data.get(CONF_STALE_AFTER) == 0:
            defaults[CONF_STALE_AFTER] = 0
        if user_input is not None:
            defaults = {**defaults, **user_input}
            units, invalid = parse_unit_ids(str(user_input.get(CONF_UNIT_IDS) or ""))
            name = str(user_input.get(CONF_NAME, "")).strip()
            if not name:
                errors[CONF_NAME] = "name_required"
            if invalid or not units:
                errors[CONF_UNIT_IDS] = "invalid_unit_ids"
                placeholders["invalid"] = ", ".join(invalid) or "-"
            else:
                others = [
                    (s.title, s.data.get(CONF_UNIT_IDS))
                    for s in self._get_entry().get_subentries_of_type(SUBENTRY_DEVICE)
                    if subentry is None or s.subentry_id != subentry.subentry_id
                ]
                if conflict := unit_conflict(units, others):
                    errors[CONF_UNIT_IDS], placeholders["device"] = conflict
            if not errors:
                stale = user_input.get(CONF_STALE_AFTER)
                result = {
                    **(dict(subentry.data) if subentry is not None else {}),
                    **device_data(
                        name=name,
                        unit_ids=units,
                        unmapped="error",
                        read_only=False,
                        stale_after=float(stale) if stale not in (None, "") else 0,
                        identification={},
                    ),
                    CONF_PROFILE: profile.key,
                    CONF_PRESET: data.get(CONF_PRESET),
                    CONF_SLOTS: dict(data.get(CONF_SLOTS) or {}),
                    CONF_SIGN: str(user_input[CONF_SIGN]),
                    CONF_INVERT_POWER: bool(user_input[CONF_INVERT_POWER]),
                }
                if subentry is not None:
                    return self.async_update_and_abort(
                        self._get_entry(), subentry, title=name, data=result
                    )
                return self.async_create_entry(title=name, data=result)
        return self.async_show_form(
            step_id="profile_settings",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_NAME, default=defaults[CONF_NAME]): str,
                    probatio.Required(
                        CONF_UNIT_IDS, default=str(defaults[CONF_UNIT_IDS])
                    ): TextSelector(),
                    probatio.Required(CONF_SIGN, default=defaults[CONF_SIGN]): SelectSelector(
                        SelectSelectorConfig(
                            options=[SIGN_IMPORT_POSITIVE, SIGN_EXPORT_POSITIVE],
                            mode=SelectSelectorMode.LIST,
                            translation_key=CONF_SIGN,
                        )
                    ),
                    probatio.Required(
                        CONF_INVERT_POWER, default=defaults[CONF_INVERT_POWER]
                    ): BooleanSelector(),
                    probatio.Required(CONF_STALE_AFTER, default=defaults[CONF_STALE_AFTER]): box(
                        min=0, max=86400, step=1, unit_of_measurement="s"
                    ),
                }
            ),
            errors=errors,
            description_placeholders={**placeholders, "profile": profile.name},
        )

    async def _async_reconfigure_profile(self, subentry: ConfigSubentry) -> SubentryFlowResult:
        """A profile device's reconfigure: its slots, then its settings, pre-filled."""
        self._profile_data = dict(subentry.data)
        return await self.async_step_profile_slots()


def _names(profile: Profile) -> set[str]:
    return {slot.name for slot in profile.slots}
