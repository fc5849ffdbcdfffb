"""Time to interactive of the table view in Chromium, at 500 and 5 000 rows.

Usage::

    .venv/bin/python benchmarks/table_view.py [--rows 500 5000] [--repeat 5] [--screenshot PNG]

Starts a real ``hass`` (.venv-hass, the fast config plus ``frontend:``, a temporary config
dir), creates a server entry through the config flow and its rows through the import
subentry flow (one CSV, as a user pastes it), then opens the "Modbus table" panel in Debian's
Chromium (Playwright, headless) already logged in, and prints per table size (medians over
fresh pages): the time from navigation to the panel showing every row with live values
(what a user waits for, Home Assistant's frontend start included), the part the panel itself
took (its element created -> rows rendered), a click on the sidebar entry (from another
page) to rows, the time to apply a filter, the row elements in the DOM and the resident
memory of hass. The functions here are also the end-to-end test's driver
(tests/e2e/test_table_view.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import aiohttp  # noqa: E402
from hasslib import (  # noqa: E402
    Credentials,
    HassClient,
    HassProcess,
    free_port,
    prepare_fast_config,
)
from playwright.async_api import Browser, Page, async_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PANEL_PATH = "/modbus-table"
PROBES = 50
"""Source entities the generated rows map (sensor.tv_0 ... sensor.tv_49), set over REST."""
TABLE = "modbus-server-table"


@dataclass
class Hass:
    """A running hass with the frontend, logged in."""

    proc: HassProcess
    client: HassClient
    entry_id: str
    modbus_port: int


def probe(index: int) -> str:
    """Entity id of a generated row's source."""
    return f"sensor.tv_{index % PROBES}"


def table_csv(rows: int) -> str:
    """`rows` input registers (float32, 2 registers each) then int16 holding registers."""
    lines = ["area,address,data_type,scale,unit,source,description"]
    floats = min(rows, 30000)
    for i in range(floats):
        lines.append(f"input_register,{2 * i},float32,1,°C,{probe(i)},row {i}")
    for i in range(rows - floats):
        lines.append(f"holding_register,{i},int16,0.1,%,{probe(i)},row {floats + i}")
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def running_hass(config_dir: Path, rows: int) -> AsyncIterator[Hass]:
    """Start hass with the frontend, a server entry on a free port and `rows` rows."""
    http_port = free_port()
    prepare_fast_config(config_dir, http_port, extra_yaml="frontend:\n")
    proc = HassProcess(config_dir, http_port)
    proc.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = HassClient(proc.url, session)
            await client.wait_http(proc, timeout=180)
            await client.onboard_or_login(Credentials())
            await client.wait_running(timeout=180)
            for index in range(PROBES):
                await client.post(f"/api/states/{probe(index)}", {"state": str(index)})
            modbus_port = free_port()
            entry = await client.create_server_entry(
                name="Plant", port=modbus_port, bind_address="127.0.0.1"
            )
            entry_id = str(entry["entry_id"])
            result = await client.import_rows(entry_id, table_csv(rows))
            if result.get("reason") != "points_added":
                raise RuntimeError(f"import failed: {result}")
            await wait_loaded(client, entry_id, rows)
            yield Hass(proc, client, entry_id, modbus_port)
    finally:
        proc.kill()


async def wait_loaded(client: HassClient, entry_id: str, rows: int, timeout: float = 120) -> None:
    """Wait until the entry runs with `rows` rows."""
    deadline = time.monotonic() + timeout
    async with client.websocket() as ws:
        try:
            while time.monotonic() < deadline:
                if await client.entry_state(entry_id) == "loaded":
                    servers = await ws.command(type="modbus_server/table/servers")
                    counts = [d["rows"] for s in servers["servers"] for d in s["devices"]]
                    if counts == [rows]:
                        return
                await asyncio.sleep(0.2)
        finally:
            await ws.close()
    raise TimeoutError(f"the entry did not load with {rows} rows")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def logged_in_page(browser: Browser, hass: Hass) -> Page:
    """A page whose frontend already holds the owner's tokens (as after a login)."""
    client = hass.client
    tokens = {
        "hassUrl": client.url,
        "clientId": client.client_id,
        "access_token": client.token,
        "refresh_token": client.refresh_token,
        "token_type": "Bearer",
        "expires_in": 1800,
        "expires": int(time.time() * 1000) + 1_800_000,
    }
    context = await browser.new_context(viewport={"width": 1600, "height": 900})
    await context.add_init_script(
        f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"
    )
    return await context.new_page()


async def open_table(page: Page, hass: Hass, rows: int) -> float:
    """Open the panel; seconds until every row is counted and values are shown."""
    start = time.perf_counter()
    await page.goto(hass.client.url + PANEL_PATH)
    total = f"{rows:,}"
    await (
        page.locator(f"{TABLE} .count").filter(has_text=f"of {total} rows").wait_for(timeout=60_000)
    )
    await page.locator(f"{TABLE} .row").first.wait_for()
    await page.wait_for_function(
        f"""() => {{
            const table = document.querySelector('home-assistant')?.shadowRoot
              ?.querySelector('home-assistant-main')?.shadowRoot
              ?.querySelector('ha-panel-custom')?.querySelector('{TABLE}');
            return table && table.values.size > 0;
        }}"""
    )
    return time.perf_counter() - start


async def open_from_sidebar(page: Page, hass: Hass) -> float:
    """With another page loaded, click the sidebar entry: seconds until the rows show."""
    await page.goto(hass.client.url + "/profile")
    entry = page.locator("ha-sidebar").get_by_text("Modbus table")
    await entry.wait_for()
    await page.evaluate("() => performance.clearMarks()")
    start = time.perf_counter()
    await entry.click()
    await page.wait_for_function(
        "() => performance.getEntriesByName('modbus-table:interactive').length > 0", polling=20
    )
    return time.perf_counter() - start


async def filter_rows(page: Page, text: str) -> float:
    """Type a filter; seconds until the count changed."""
    count = page.locator(f"{TABLE} .count")
    before = await count.text_content()
    start = time.perf_counter()
    await page.locator(f"{TABLE} input.filter").fill(text)
    await page.wait_for_function(
        """([before]) => {
            const table = document.querySelector('home-assistant').shadowRoot
              .querySelector('home-assistant-main').shadowRoot
              .querySelector('ha-panel-custom').querySelector('modbus-server-table');
            return table.shadowRoot.querySelector('.count').textContent !== before;
        }""",
        arg=[before],
    )
    return time.perf_counter() - start


async def screenshot(page: Page, hass: Hass, path: Path) -> None:
    """The view as a user sees it while a client polls: values, last read, one edit open."""
    from pymodbus.client import AsyncModbusTcpClient  # noqa: PLC0415 - screenshot only

    modbus = AsyncModbusTcpClient("127.0.0.1", port=hass.modbus_port)
    await modbus.connect()
    try:
        await modbus.read_input_registers(0, count=40)
        await modbus.read_input_registers(0, count=10)
    finally:
        modbus.close()
    await hass.client.post(f"/api/states/{probe(3)}", {"state": "21.75"})
    table = page.locator(TABLE)
    await table.locator(".row", has_text="30013").locator("button.edit").click()
    editor = table.locator("form.editor")
    await editor.locator("input[name=address]").fill("2")
    await editor.locator("button[type=submit]").click()
    await editor.locator(".error").first.wait_for()
    await page.wait_for_timeout(2500)  # the next activity poll
    await page.screenshot(path=str(path))


async def measure(rows: int, repeat: int, shot: Path | None = None) -> dict[str, Any]:
    """One table size: hass, browser, the median of `repeat` fresh pages (and a screenshot)."""
    samples: dict[str, list[float]] = {
        "interactive_s": [],
        "panel_ms": [],
        "sidebar_s": [],
    }
    with tempfile.TemporaryDirectory(prefix="table-view-") as tmp:
        async with running_hass(Path(tmp), rows) as hass, chromium() as browser:
            for _ in range(repeat):
                page = await logged_in_page(browser, hass)
                samples["interactive_s"].append(await open_table(page, hass, rows))
                in_dom = await page.locator(f"{TABLE} .row").count()
                marks = await page.evaluate(
                    "() => Object.fromEntries(performance.getEntriesByType('mark')"
                    ".map(mark => [mark.name, mark.startTime]))"
                )
                samples["panel_ms"].append(
                    marks["modbus-table:interactive"] - marks["modbus-table:connected"]
                )
                samples["sidebar_s"].append(await open_from_sidebar(page, hass))
                await page.context.close()
            page = await logged_in_page(browser, hass)
            await open_table(page, hass, rows)
            if shot is not None:
                await screenshot(page, hass, shot)
            filtered = await filter_rows(page, "sensor.tv_7 ")
            return {
                "rows": rows,
                **{name: statistics.median(values) for name, values in samples.items()},
                "filter_s": filtered,
                "row_elements": in_dom,
                "hass_rss_mb": hass.proc.rss_bytes() / 2**20,
            }


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="pages per size (median)")
    parser.add_argument("--screenshot", type=Path, help="save a screenshot of the last size")
    args = parser.parse_args()
    results = [
        asyncio.run(measure(rows, args.repeat, args.screenshot if rows == args.rows[-1] else None))
        for rows in args.rows
    ]
    print(
        "| rows | page load to interactive | of which the panel | sidebar click to rows "
        "| filter | row elements in the DOM | hass RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['interactive_s']:.2f} s | {r['panel_ms']:.0f} ms "
            f"| {r['sidebar_s'] * 1000:.0f} ms "
            f"| {r['filter_s'] * 1000:.0f} ms | {r['row_elements']} | {r['hass_rss_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    main()
