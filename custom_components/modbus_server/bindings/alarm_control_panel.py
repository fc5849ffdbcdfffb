"""alarm_control_panel: armed (any armed_* state) = 1, read only (arming needs a code)."""

from __future__ import annotations

from .base import DomainBinding, register


@register
class AlarmControlPanelBinding(DomainBinding):
    """An alarm panel; 'triggered' also reads 1, pending/arming/disarming read 0."""

    domain = "alarm_control_panel"
    is_binary = True
    on_states = frozenset(
        {
            "armed_home",
            "armed_away",
            "armed_night",
            "armed_vacation",
            "armed_custom_bypass",
            "triggered",
        }
    )
