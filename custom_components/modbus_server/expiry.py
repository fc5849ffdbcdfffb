"""Repair issue: a TLS server's certificate expires soon, or has expired.

Clients refuse an expired server certificate, so the issue comes `CERTIFICATE_WARN_DAYS`
ahead: checked at setup and once a day while the entry is loaded. It goes away when the
server gets a new certificate (the reconfigure reloads the entry, which checks again).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import (
    CERTIFICATE_WARN_DAYS,
    CONF_TLS_CERTIFICATE,
    DOMAIN,
    ISSUE_CERTIFICATE_EXPIRED,
    ISSUE_CERTIFICATE_EXPIRES,
)
from .models import ModbusServerConfigEntry
from .pki import certificate_expiry

CHECK_INTERVAL = timedelta(days=1)


def expiry_issue_ids(entry_id: str) -> tuple[str, str]:
    """Issue ids of an entry's "expires soon" and "expired" issues."""
    return f"{ISSUE_CERTIFICATE_EXPIRES}_{entry_id}", f"{ISSUE_CERTIFICATE_EXPIRED}_{entry_id}"


@callback
def async_check_certificate_expiry(
    hass: HomeAssistant, entry: ModbusServerConfigEntry, now: datetime | None = None
) -> None:
    """Raise, update or clear the entry's expiry issue for its server certificate."""
    soon, expired = expiry_issue_ids(entry.entry_id)
    pem = entry.data.get(CONF_TLS_CERTIFICATE)
    try:
        expires = certificate_expiry(pem) if pem else None
    except ValueError:
        expires = None  # the form checked it; an unreadable one fails at setup anyway
    now = now or dt_util.utcnow()
    left = None if expires is None else expires - now
    if left is None or left > timedelta(days=CERTIFICATE_WARN_DAYS):
        ir.async_delete_issue(hass, DOMAIN, soon)
        ir.async_delete_issue(hass, DOMAIN, expired)
        return
    placeholders = {
        "name": entry.title,
        "expires": dt_util.as_local(expires).strftime("%Y-%m-%d %H:%M") if expires else "",
        "days": str(max(0, left.days)),
    }
    raise_id, clear_id = (expired, soon) if left <= timedelta(0) else (soon, expired)
    ir.async_delete_issue(hass, DOMAIN, clear_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        raise_id,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR if raise_id == expired else ir.IssueSeverity.WARNING,
        translation_key=ISSUE_CERTIFICATE_EXPIRED
        if raise_id == expired
        else (ISSUE_CERTIFICATE_EXPIRES),
        translation_placeholders=placeholders,
    )


@callback
def async_setup_certificate_expiry(
    hass: HomeAssistant, entry: ModbusServerConfigEntry
) -> Callable[[], None]:
    """Check now and daily; returns the function that stops the daily check."""
    async_check_certificate_expiry(hass, entry)

    @callback
    def _async_daily(now: datetime) -> None:
        async_check_certificate_expiry(hass, entry, now)

    return async_track_time_interval(hass, _async_daily, CHECK_INTERVAL)
