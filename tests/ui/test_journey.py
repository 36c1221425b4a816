"""The issue's acceptance path in one browser session: sign up, deploy a catalog server, watch it reach running
without reloading, try a tool, find the call among the invocations, read the live logs, stop it and delete it."""

from __future__ import annotations

from playwright.async_api import Dialog, Page, expect

from tests.ui.browser import sign_up
from tests.ui.live import Console, unique_email

TIME = "io.github.modelcontextprotocol/time"


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_from_sign_up_to_a_deleted_server(page: Page, console: Console) -> None:
    await sign_up(page, unique_email("journey"))
    await expect(page.get_by_role("heading", name="No servers yet")).to_be_visible()

    # Deploy from the catalog; the progress page follows the status live.
    await page.get_by_role("link", name="Deploy your first server").click()
    await page.get_by_role("searchbox", name="Search the catalog").fill("time")
    await page.locator("#catalog-results").get_by_role("link", name="Time", exact=True).click()
    await page.get_by_label("Server name").fill("Journey clock")
    await page.get_by_role("button", name="Deploy Time").click()
    await page.wait_for_url("**/servers/*/deployed")
    await expect(page.locator("h1 [data-status-for]")).to_have_text("running")
    server_id = page.url.split("/servers/")[1].split("/")[0]

    # Try a tool.
    await page.goto(f"/servers/{server_id}/tools")
    echo = page.get_by_role("article").filter(has=page.get_by_role("heading", name="echo", exact=True))
    await echo.get_by_text("Try it").click()
    await echo.get_by_label("text").fill("hello from the journey")
    await echo.get_by_role("button", name="Call echo").click()
    await expect(echo.locator(".result-text")).to_have_text("hello from the journey")

    # The call is among the invocations, with its request and response.
    await page.get_by_role("link", name="Invocations").click()
    row = page.get_by_role("row").filter(has_text="echo")
    await expect(row).to_have_count(1)
    await row.get_by_role("link").first.click()
    await expect(page.locator("main")).to_contain_text("hello from the journey")

    # The logs show the start, and follow the server live: a restart adds lines without a reload.
    await page.get_by_role("link", name="Logs").click()
    log = page.get_by_role("log")
    running_lines = log.locator(".logline", has_text="running (fake)")
    await expect(running_lines).to_have_count(1)
    await page.get_by_role("button", name="Restart").click()
    await expect(running_lines).to_have_count(2)

    # Stop: the badge follows without a reload; then delete, confirmed, back to an empty dashboard.
    badge = page.locator("h1 [data-status-for]")
    await expect(badge).to_have_text("running")
    await page.get_by_role("button", name="Stop").click()
    await expect(badge).to_have_text("stopped")
    page.once("dialog", _accept)
    await page.get_by_role("button", name="Delete").click()
    await page.wait_for_url("**/dashboard")
    await expect(page.get_by_role("heading", name="No servers yet")).to_be_visible()
    with console.api() as api:
        assert api.get(f"/api/servers/{server_id}").status_code == 404
