"""Walk the changed forms in a real browser and save their screenshots in docs/screenshots/.

Needs a running ``scripts/develop`` (login demo / demo-password) and Playwright for Python
(requirements_test.txt) with a Chromium (Debian: ``apt-get install chromium``)::

    DEVELOP_HTTP_PORT=8130 scripts/develop &
    .venv/bin/python scripts/screenshots.py --port 8130

Every dialog is closed without submitting its last step (closing a flow discards it), so the
demo's table is left as it was, except that the allow-list walk creates a second server to
check the confirmation and removes it again.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INTEGRATION = "/config/integrations/integration/modbus_server"
PAUSE = 1.0
"""Seconds for the frontend to render after a click (dialogs animate in)."""


def field(page: Page, name: str) -> Locator:
    """The selector of form field `name` in the open flow dialog."""
    fields = page.locator("dialog-data-entry-flow ha-selector")
    for index in range(fields.count()):
        if fields.nth(index).evaluate("element => element.name") == name:
            return fields.nth(index)
    raise LookupError(f"no field {name!r} in the dialog")


def pick_entity(page: Page, name: str, entity_id: str) -> None:
    """Add `entity_id` in the entity picker `name` (typing it, as a user would)."""
    picker = field(page, name)
    more = picker.get_by_role("button", name="Add entity")
    if more.count():
        more.click()
    else:
        picker.get_by_text("Select an entity").last.click()
    time.sleep(PAUSE)
    page.keyboard.type(entity_id)
    time.sleep(PAUSE)
    page.keyboard.press("Enter")
    time.sleep(PAUSE)


def submit(page: Page) -> None:
    """Press the dialog's Submit button and let the next step render."""
    page.locator("dialog-data-entry-flow").get_by_role("button", name="Submit").click()
    time.sleep(PAUSE * 1.5)


def close(page: Page) -> None:
    """Close the flow dialog (the flow is discarded)."""
    page.locator("dialog-data-entry-flow").get_by_role("button", name="Close").first.click()
    time.sleep(PAUSE)


def log_in(page: Page, url: str) -> None:
    """The login page of a fresh browser: the demo's owner."""
    page.goto(url + INTEGRATION)
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password", exact=True).fill("demo-password")
    page.keyboard.press("Enter")
    add_server_button(page).wait_for()
    time.sleep(PAUSE * 2)


def add_server_button(page: Page) -> Locator:
    """The page's button that adds a server: "Add service" with one entry, "Add hub" with more."""
    return page.get_by_role("button", name="Add service").or_(
        page.get_by_role("button", name="Add hub")
    )


def server_form(page: Page) -> None:
    """The server form: its limits, and the warning for an allow-list that admits everyone."""
    add_server_button(page).click()
    time.sleep(PAUSE * 2)
    page.get_by_text("Modbus TCP", exact=True).click()
    submit(page)
    page.locator("dialog-data-entry-flow input#name").fill("Gate controller link")
    field(page, "port").locator("input").fill("5031")
    field(page, "write_timeout").scroll_into_view_if_needed()
    time.sleep(PAUSE)
    page.screenshot(path=SHOTS / "server-form-limits.png")
    allowed = field(page, "allowed_clients")
    allowed.get_by_role("button", name="Add Allowed clients").click()
    time.sleep(PAUSE)
    allowed.locator("input").last.fill("0.0.0.0/0")
    submit(page)
    page.screenshot(path=SHOTS / "server-allow-list-everyone.png")
    # Submitting the same list again is the confirmation: the server is created.
    submit(page)
    page.screenshot(path=SHOTS / "server-allow-list-confirmed.png")
    page.keyboard.press("Escape")
    time.sleep(PAUSE)
    remove_entry(page, "Gate controller link")


def tls_certificates(page: Page) -> None:
    """A TLS server with generated certificates, its device's roles, a client certificate."""
    add_server_button(page).click()
    time.sleep(PAUSE * 2)
    dialog = page.locator("dialog-data-entry-flow")
    dialog.get_by_text("Modbus/TCP Security").first.click()
    submit(page)
    dialog.locator("input#name").fill("Secure link")
    field(page, "port").locator("input").fill("8802")
    field(page, "tls_generate").locator("ha-switch").click()
    submit(page)
    dialog.get_by_role("button", name="Skip and finish").click()
    time.sleep(PAUSE * 2)
    device = page.locator("ha-config-sub-entry-row", has_text="Secure link").last
    device.get_by_role("button", name="Change device or its rows").click()
    time.sleep(PAUSE * 2)
    dialog.get_by_text("Device settings").first.click()
    time.sleep(PAUSE * 2)
    field(page, "roles").locator("textarea").fill("Operator = read-write\nViewer = read")
    submit(page)
    close(page)
    page.get_by_role("button", name="Add client certificate").click()
    time.sleep(PAUSE * 2)
    dialog.locator("input#name").fill("scada-viewer")
    dialog.locator("input#role").fill("Viewer")
    submit(page)
    page.screenshot(path=SHOTS / "tls-certificates.png")
    close(page)
    remove_entry(page, "Secure link")


def server_transport(page: Page) -> None:
    """A new server: the transport choice, then the serial step submitted without a port.

    On a host without a USB adapter nothing is preselected (a built-in ttyS is rarely the
    RS485 adapter), so the field says so.
    """
    add_server_button(page).click()
    time.sleep(PAUSE * 2)
    page.screenshot(path=SHOTS / "server-transport.png")
    page.get_by_text("Modbus RTU on a serial port").click()
    submit(page)
    submit(page)
    field(page, "serial_port").scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "server-serial-missing-port.png")
    close(page)


REMOVE_ENTRY_JS = """async (title) => {
    const token = JSON.parse(localStorage.hassTokens).access_token;
    const headers = {Authorization: `Bearer ${token}`};
    const base = "/api/config/config_entries/entry";
    const entries = await (await fetch(`${base}?domain=modbus_server`, {headers})).json();
    const entry = entries.find((item) => item.title === title);
    if (!entry) return false;
    return (await fetch(`${base}/${entry.entry_id}`, {method: "DELETE", headers})).ok;
}"""


def remove_entry(page: Page, title: str) -> None:
    """Delete the server entry the walk created (the frontend's own token and REST API)."""
    if not page.evaluate(REMOVE_ENTRY_JS, title):
        raise RuntimeError(f"could not remove the entry {title!r}")


def add_many(page: Page) -> None:
    """Add many with writable areas preferred: the lock and the garage door stay read-only."""
    page.get_by_role("button", name="Add many").click()
    time.sleep(PAUSE * 2)
    for entity_id in (
        "lock.front_door",
        "cover.garage_door",
        "input_boolean.outdoor_sensor_ok",
        "number.flow_limit",
    ):
        pick_entity(page, "entity_id", entity_id)
    field(page, "writable").locator("input").check(force=True)
    time.sleep(PAUSE)
    submit(page)
    page.screenshot(path=SHOTS / "add-many-safety-preview.png")
    close(page)


def lock_row(page: Page) -> None:
    """One row for the lock, as a coil: writable stays off, the risk is stated."""
    page.get_by_role("button", name="Add register").click()
    time.sleep(PAUSE * 2)
    page.get_by_text("An entity's state or attribute").click()
    time.sleep(PAUSE * 1.5)
    pick_entity(page, "entity_id", "lock.front_door")
    submit(page)
    page.get_by_text("Coil (0xxxx").click()
    submit(page)
    page.screenshot(path=SHOTS / "register-form-lock-risk.png")
    close(page)


def main() -> None:
    """Log in, walk every form, leave the demo as it was."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8123, help="scripts/develop's HTTP port")
    url = f"http://127.0.0.1:{parser.parse_args().port}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, url)
        page.screenshot(path=SHOTS / "address-table.png")
        page.set_viewport_size({"width": 1280, "height": 1000})
        add_many(page)
        lock_row(page)
        server_form(page)
        server_transport(page)
        tls_certificates(page)
        browser.close()


if __name__ == "__main__":
    main()
