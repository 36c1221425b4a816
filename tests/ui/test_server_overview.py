"""The overview tab of a server: its endpoint (copied to the clipboard), client snippets, facts and history."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.ui.browser import sign_in
from tests.ui.live import Console
from tests.ui.observe import Hosted, hosted_server


async def open_overview(page: Page, hosted: Hosted) -> None:
    await sign_in(page, hosted.email)
    await page.goto(f"/servers/{hosted.id}")


async def test_the_copy_button_puts_the_endpoint_on_the_clipboard(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "overview-copy")
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await open_overview(page, hosted)
    endpoint = hosted.server["endpoint_url"]
    await expect(page.locator("#endpoint-url")).to_have_text(endpoint)

    await page.get_by_role("button", name="Copy endpoint URL").click()

    await expect(page.get_by_role("button", name="Copy endpoint URL")).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == endpoint


async def test_each_client_has_a_snippet_with_the_endpoint(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "overview-clients")
    await open_overview(page, hosted)
    endpoint = hosted.server["endpoint_url"]

    await page.get_by_role("tab", name="Cursor").click()

    cursor = page.get_by_role("tabpanel", name="Cursor")
    await expect(cursor).to_be_visible()
    await expect(cursor).to_contain_text(endpoint)
    await expect(cursor).to_contain_text("Bearer <ACCESS_KEY>")
    await expect(page.get_by_role("tabpanel", name="Claude Code")).to_be_hidden()
    await page.get_by_role("tab", name="Cursor").press("ArrowRight")
    await expect(page.get_by_role("tab", name="Python SDK")).to_be_focused()
    await expect(page.get_by_role("tabpanel", name="Python SDK")).to_contain_text(endpoint)
    await page.get_by_role("link", name="Create a key").click()
    await page.wait_for_url(f"**/servers/{hosted.id}/keys")


async def test_facts_and_the_status_history_show_what_happened(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "overview-history")
    await open_overview(page, hosted)

    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("pypi package fake-server")
    await expect(facts).to_contain_text("fake")
    await expect(facts).to_contain_text("shared")
    history = page.get_by_role("list").filter(has=page.locator(".timeline-item"))
    await expect(history.locator(".timeline-item").first).to_contain_text("start")
    await expect(history).to_contain_text("create")

    hosted.act("stop")  # the stop joins the history live, without a reload

    await expect(history.locator(".timeline-item").first).to_contain_text("stop")
