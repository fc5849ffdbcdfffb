"""Import: a pasted table in the register map's CSV or JSON format; all rows or none."""

from __future__ import annotations

from typing import Any

import probatio
from homeassistant.config_entries import SubentryFlowResult
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig

from ..planning import import_problems, read_table
from ..registermap import ImportFormatError
from ..registermap.io import MAX_IMPORT_CHARS
from .common import PreviewedTableFlow
from .selectors import suggested

ERROR_DETAILS = 10
"""Problems listed in the form; the rest are counted."""


class ImportSubentryFlow(PreviewedTableFlow):
    """Paste a table in the register map's CSV or JSON format; all rows or none are added."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Paste the text; it is parsed and validated against the existing table."""
        if self._device_id is None:
            return await self.async_step_device()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"details": ""}
        text = ""
        if user_input is not None:
            text = user_input["text"]
            if len(text) > MAX_IMPORT_CHARS:
                errors["text"] = "import_too_large"
                placeholders["size"] = f"{len(text):,}"
                placeholders["max_size"] = f"{MAX_IMPORT_CHARS:,}"
            elif details := await self._async_parse(text):
                # An error alert shows one run of text: the list goes into the description
                # (Markdown), and the pasted text stays in the field to be corrected.
                errors["text"] = "import_invalid"
                shown = details[:ERROR_DETAILS]
                if len(details) > ERROR_DETAILS:
                    shown.append(f"… {len(details) - ERROR_DETAILS} more")
                placeholders["details"] = "\n\n" + "\n".join(f"- {line}" for line in shown)
            else:
                return await self.async_step_confirm()
        return self.async_show_form(
            step_id="user",
            data_schema=probatio.Schema(
                {
                    probatio.Required("text", description=suggested(text)): TextSelector(
                        TextSelectorConfig(multiline=True)
                    )
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_parse(self, text: str) -> list[str]:
        """Parse and check; return problems as lines (empty when all is well).

        Parsing runs in the executor: 20 000 CSV rows take about a second, which the event
        loop must not wait for. The checks against bindings and the table stay here.
        """
        try:
            rows = await self.hass.async_add_executor_job(read_table, text)
        except ImportFormatError as err:
            return [f"line {line}: {message}" for line, message in err.errors]
        points = [row.point for row in rows]
        if problems := import_problems(points, self._existing()):
            return problems
        self._points = points
        self._settings = [row.settings for row in rows]
        return []
