"""The landing page and the docs: they render for anyone, on a phone too, and the docs show real client setup."""

from __future__ import annotations

import json
import uuid

import httpx
from markupsafe import escape
from playwright.async_api import Page, expect

from mcphost.servers.client_config import client_config
from tests.ui.browser import ConsoleWatch, sign_up
from tests.ui.live import Console, unique_email

DOCS = {
    "/docs": "Quick start",
    "/docs/clients": "Connecting clients",
    "/docs/cli": "The mcphost CLI",
    "/docs/api": "HTTP API",
}


async def _fits_the_width(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


async def test_the_landing_page_explains_mcp_host_and_leads_to_sign_up(page: Page) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("MCP servers")
    for feature in ("Deploy", "Run", "Secure", "Observe", "Quick start"):
        await expect(page.get_by_role("heading", name=feature, exact=True)).to_be_visible()
    await expect(page.get_by_text("make run", exact=True).first).to_be_visible()
    await expect(page.get_by_role("link", name="Go to your servers")).to_have_count(0)
    await page.get_by_role("link", name="Create an account").click()
    await page.wait_for_url("**/signup")


async def test_the_docs_have_a_page_per_topic_with_a_side_navigation(page: Page) -> None:
    await page.goto("/")
    await page.get_by_role("link", name="Read the docs").click()
    await expect(page.get_by_role("heading", level=1, name="Quick start")).to_be_visible()
    docs_nav = page.get_by_role("navigation", name="Documentation")
    await expect(docs_nav.get_by_role("link", name="Quick start")).to_have_attribute("aria-current", "page")

    await docs_nav.get_by_role("link", name="Connecting clients").click()
    await expect(page.get_by_role("heading", level=1, name="Connecting clients")).to_be_visible()
    for client in ("Claude Desktop", "Claude Code", "Cursor", "VS Code"):
        await expect(page.get_by_role("heading", name=client, exact=True)).to_be_visible()
    await expect(page.locator("#claude-desktop-snippet")).to_contain_text("mcp-remote")
    await expect(page.locator("#vscode-snippet")).to_contain_text('"type": "http"')
    await expect(page.get_by_role("button", name="Copy the Cursor configuration")).to_be_visible()

    await docs_nav.get_by_role("link", name="The mcphost CLI").click()
    await expect(page.get_by_role("cell", name="mcphost connect SERVER")).to_be_visible()

    await docs_nav.get_by_role("link", name="HTTP API").click()
    await expect(page.get_by_role("link", name="Open the API reference")).to_have_attribute("href", "/api/docs")
    await expect(page.get_by_role("link", name="Download openapi.json")).to_have_attribute("href", "/api/openapi.json")


async def test_public_pages_fit_a_phone_screen(page: Page) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto("/")
    await expect(page.get_by_role("link", name="Create an account")).to_be_visible()
    await _fits_the_width(page)
    for path, title in DOCS.items():
        await page.goto(path)
        await expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
        await expect(page.get_by_role("navigation", name="Documentation")).to_be_visible()
        await _fits_the_width(page)


async def test_a_signed_in_visitor_is_offered_their_servers(page: Page) -> None:
    await sign_up(page, unique_email("landing"))
    await page.goto("/")
    await page.get_by_role("link", name="Go to your servers").click()
    await page.wait_for_url("**/dashboard")


async def test_an_unknown_docs_topic_is_the_not_found_page(page: Page, console_watch: ConsoleWatch) -> None:
    console_watch.expect_status(404)
    answer = await page.goto("/docs/no-such-topic")
    assert answer is not None and answer.status == 404
    await expect(page.get_by_role("heading", name="This page does not exist")).to_be_visible()
    await expect(page.get_by_text("Connecting clients")).to_be_visible()


def test_the_client_docs_show_the_same_configuration_a_server_gets(console: Console) -> None:
    expected = client_config(console.url, uuid.uuid4(), "my-server").clients
    with httpx.Client(base_url=console.url, timeout=10) as http:
        page = http.get("/docs/clients", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert str(escape(json.dumps(expected.cursor.content, indent=2))) in page.text
    assert str(escape(expected.claude_code.content)) in page.text
