"""A live MCP Host whose public URL is the address it listens at (the issuer clients check), hosting real servers
with the process runtime; and Chromium, driven by Playwright, as the user's browser on the consent page."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Page, Route, async_playwright

from mcphost.api import create_app
from tests.cli.processes import free_port
from tests.gateway.live import LiveHost, live_settings
from tests.support.accounts import PASSWORD, sign_up
from tests.support.live import serve
from tests.ui.live import CHROMIUM, CHROMIUM_ARGS

HEADER_SERVER = Path(__file__).resolve().parent / "header_server.py"


@asynccontextmanager
async def oauth_host(home: Path, database_url: str) -> AsyncIterator[LiveHost]:
    port = free_port()
    settings = live_settings(home, database_url, public_url=f"http://127.0.0.1:{port}")
    app = create_app(settings)
    async with serve(app, port=port) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        admin = await sign_up(client, "admin@example.com")
        yield LiveHost(url, client, admin)


async def host_header_server(host: LiveHost) -> dict[str, object]:
    command = [sys.executable, str(HEADER_SERVER), "{port}"]
    server, _ = await host.host(command, url="http://127.0.0.1:{port}/mcp", name="headers")
    return server


class Browser:
    """The user's Chromium: signs in when asked, clicks Allow, and catches the redirect to the app's callback."""

    def __init__(self, page: Page, email: str) -> None:
        self.page = page
        self.email = email
        self.callbacks: asyncio.Queue[str] = asyncio.Queue()
        self.consent_pages: list[str] = []

    async def catch(self, callback_prefix: str) -> None:
        parts = urlsplit(callback_prefix)

        async def caught(route: Route) -> None:
            await self.callbacks.put(route.request.url)
            await route.fulfill(status=200, body="You can close this page.", content_type="text/plain")

        await self.page.route(f"{parts.scheme}://{parts.netloc}/**", caught)

    async def authorize(self, url: str, decision: str = "Allow") -> None:
        """Open the authorization URL; sign in if the page asks; read the consent page and click."""
        await self.page.goto(url)
        if "/login" in self.page.url:
            await self.page.get_by_label("Email").fill(self.email)
            await self.page.get_by_label("Password").fill(PASSWORD)
            await self.page.get_by_role("button", name="Sign in").click()
            await self.page.wait_for_url("**/oauth/authorize?**")
        self.consent_pages.append(await self.page.inner_text("main"))
        await self.page.get_by_role("button", name=decision).click()


@asynccontextmanager
async def browser_for(base_url: str, email: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await chromium.new_context(base_url=base_url)
            context.set_default_timeout(30_000)
            yield Browser(await context.new_page(), email)
        finally:
            await chromium.close()
