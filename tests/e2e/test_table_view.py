"""The table view in a real browser: Debian's Chromium (Playwright) against a real hass.

Self-contained: its own hass with the frontend (the session's `ha` fixture has none), a
server whose 5 000 rows are created through the import flow as a user pastes them, and
the owner's tokens handed to the frontend as after a login. The driver (start, log in,
open, filter) is shared with `benchmarks/table_view.py`, which prints the timings.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from table_view import (  # noqa: E402
    CHROMIUM,
    TABLE,
    chromium,
    filter_rows,
    logged_in_page,
    open_table,
    running_hass,
)

from tests.conftest import require_tool  # noqa: E402

ROWS = 5000


async def test_table_of_5000_rows_filters_edits_shows_live_values_and_deletes(
    tmp_path: Path,
) -> None:
    assert require_tool("chromium") == CHROMIUM  # the browser Playwright drives
    async with running_hass(tmp_path, ROWS) as hass, chromium() as browser:
        page = await logged_in_page(browser, hass)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(f"{error.message} {error.stack}"))
        seconds = await open_table(page, hass, ROWS)
        print(f"\ntable view with {ROWS} rows interactive after {seconds:.2f} s")
        table = page.locator(TABLE)
        rows = table.locator(".row")
        # virtualised: a window's worth of row elements, not 5 000
        assert 10 < await rows.count() < 100
        assert await table.locator(".row", has_text="30001").locator("div").nth(11).inner_text()

        # filter: every shown row is one of the entity's 100 rows
        await filter_rows(page, "sensor.tv_7 ")
        await table.locator(".count", has_text="100 of 5,000 rows").wait_for()
        for text in await rows.all_inner_texts():
            assert "sensor.tv_7\n" in text + "\n"

        # live: a state change reaches the row (raw registers and value)
        first = table.locator(".row", has_text="30015")
        await hass.client.post("/api/states/sensor.tv_7", {"state": "77.25"})
        await first.filter(has_text="429A 8000").filter(has_text="77.25 °C").wait_for()

        # edit inline: an overlap is refused with the flow's message, a free address is saved
        await first.locator("button.edit").click()
        editor = table.locator("form.editor")
        await editor.locator("input[name=address]").fill("16")
        await editor.locator("button[type=submit]").click()
        await (
            editor.locator(".error")
            .filter(has_text="Overlaps the row IR 16 (30017) · sensor.tv_8 · float32.")
            .wait_for()
        )
        await editor.locator("input[name=address]").fill("10000")
        await editor.locator("input[name=unit]").fill("K")
        await editor.locator("button[type=submit]").click()
        await editor.wait_for(state="detached")
        moved = table.locator(".row", has_text="310001")
        await moved.filter(has_text="IR 10000").filter(has_text="77.25 K").wait_for()
        # the device's table is swapped live; the row keeps its live value
        await hass.client.post("/api/states/sensor.tv_7", {"state": "-1.5"})
        await moved.filter(has_text="BFC0 0000").wait_for(timeout=60_000)

        # delete two selected rows
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await table.locator(".scroller").evaluate("scroller => { scroller.scrollTop = 0; }")
        for plc in ("30115", "30215"):
            await table.locator(".row", has_text=plc).locator("input[type=checkbox]").check()
        await table.locator("button.delete", has_text="(2)").click()
        await table.locator(".count", has_text="98 of 4,998 rows").wait_for()
        # the running device follows once the edit's table is compiled (in the executor)
        rows = None
        for _ in range(200):
            async with hass.client.websocket() as ws:
                try:
                    servers = await ws.command(type="modbus_server/table/servers")
                finally:
                    await ws.close()
            rows = servers["servers"][0]["devices"][0]["rows"]
            if rows == ROWS - 2:
                break
            await asyncio.sleep(0.05)
        assert rows == ROWS - 2
        # our module threw nothing (the frontend itself rejects a command the fast config
        # lacks: "unknown_command", an error without a stack)
        assert [error for error in errors if "table-view.js" in error] == []
