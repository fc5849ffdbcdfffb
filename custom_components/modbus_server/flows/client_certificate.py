"""Issue a client certificate from the server's generated CA: name, role, validity, password.

Nothing is stored as a subentry: the flow writes the files (see `pki.py`) and ends on a
message with the subject, role, expiry, the password (shown this once) and signed download
links. Offered on TLS servers only; a server with its own PKI (no generated CA key) is told
to issue certificates there.
"""

from __future__ import annotations

from typing import Any

import probatio
from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME, CONF_PASSWORD
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import dt as dt_util

from ..const import CONF_TLS_CA_KEY, CONF_TLS_CLIENT_CA
from ..pki import download_links, entry_folder, issue_client_files
from .selectors import box

CONF_ROLE = "role"
CONF_DAYS = "days"
DEFAULT_DAYS = 825
MAX_DAYS = 3650
MIN_PASSWORD = 8


class ClientCertificateSubentryFlow(ConfigSubentryFlow):
    """A client certificate with a role, signed by the server's generated CA."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Ask for the client's name, role, validity and (optionally) a password."""
        entry = self._get_entry()
        if not entry.data.get(CONF_TLS_CA_KEY):
            return self.async_abort(reason="no_generated_ca")
        errors: dict[str, str] = {}
        values: dict[str, Any] = user_input or {}
        if user_input is not None:
            name = str(user_input.get(CONF_NAME, "")).strip()
            role = str(user_input.get(CONF_ROLE) or "").strip() or None
            password = str(user_input.get(CONF_PASSWORD) or "") or None
            if not name:
                errors[CONF_NAME] = "name_required"
            if password is not None and len(password) < MIN_PASSWORD:
                errors[CONF_PASSWORD] = "password_too_short"
            if not errors:
                issued = await self.hass.async_add_executor_job(
                    lambda: issue_client_files(
                        entry_folder(self.hass, entry.entry_id),
                        entry.data[CONF_TLS_CLIENT_CA],
                        entry.data[CONF_TLS_CA_KEY],
                        name=name,
                        role=role,
                        days=int(user_input.get(CONF_DAYS) or DEFAULT_DAYS),
                        password=password,
                    )
                )
                return self.async_abort(
                    reason="certificate_issued",
                    description_placeholders={
                        "subject": issued.subject,
                        "role": role or "none (NULL role)",
                        "expires": dt_util.as_local(issued.expires).strftime("%Y-%m-%d"),
                        "password": issued.password,
                        "links": download_links(self.hass, entry.entry_id, issued.files),
                        "folder": f"{entry_folder(self.hass, entry.entry_id)}",
                    },
                )
        return self.async_show_form(
            step_id="user",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_NAME, default=values.get(CONF_NAME, "")): str,
                    probatio.Optional(
                        CONF_ROLE, description={"suggested_value": values.get(CONF_ROLE)}
                    ): str,
                    probatio.Required(CONF_DAYS, default=values.get(CONF_DAYS, DEFAULT_DAYS)): box(
                        min=1, max=MAX_DAYS, step=1, unit_of_measurement="days"
                    ),
                    probatio.Optional(CONF_PASSWORD): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    ),
                }
            ),
            errors=errors,
        )
