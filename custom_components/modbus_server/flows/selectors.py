"""Form pieces the server, device and row forms share (selectors and suggested values)."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from ..const import CONF_AREA, CONF_UNMAPPED
from ..modbus.area import Area
from ..planning import AREA_ORDER
from ..registermap import DataType


def unmapped_selector() -> SelectSelector:
    """The unmapped-address policy of a device: an exception, or zeros."""
    return SelectSelector(
        SelectSelectorConfig(options=["error", "zero"], translation_key=CONF_UNMAPPED)
    )


def area_selector(areas: list[Area]) -> SelectSelector:
    """The areas offered, in PLC reference order."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[str(area) for area in sorted(areas, key=AREA_ORDER.index)],
            mode=SelectSelectorMode.LIST,
            translation_key=CONF_AREA,
        )
    )


def box(**kwargs: Any) -> NumberSelector:
    """A number typed into a box (a slider cannot hit an exact register address)."""
    config = NumberSelectorConfig(mode=NumberSelectorMode.BOX)
    config.update(kwargs)  # type: ignore[typeddict-item]
    return NumberSelector(config)


def suggested(value: Any) -> dict[str, Any] | None:
    """A field's description pre-filling `value` (an optional field keeps no default)."""
    return None if value is None or value == "" else {"suggested_value": value}


def register_data_types() -> list[str]:
    """Every type a register area can hold (bool is for coils and discrete inputs)."""
    return [data_type.value for data_type in DataType if data_type is not DataType.BOOL]
