"""Every page of the console, as an administrator with data on it, at desktop and phone widths: it answers 200,
fits the screen without sideways scrolling, has one main heading, and the browser logs no error (the ``page``
fixture fails the test on any console error or uncaught exception)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.support.waiting import until
from tests.ui.browser import sign_in
from tests.ui.live import ADMIN_EMAIL, Console
from tests.ui.observe import PACKAGE

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _seeded(console: Console) -> tuple[str, str, str]:
    """A running server of the administrator's with a call and a key, and an organisation; their ids."""
    with console.api() as api:
        servers = api.get("/api/servers").json()["items"]
        if servers:
            server_id = servers[0]["id"]
        else:
            server_id = api.post("/api/servers", json={"name": "every page", "source": PACKAGE}).json()["id"]
        orgs = api.get("/api/orgs").json()
        org_id = orgs[0]["id"] if orgs else api.post("/api/orgs", json={"name": "Every page"}).json()["id"]
        until(lambda: api.get(f"/api/servers/{server_id}").json()["status"] == "running", "running server")
        call = {"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}}
        api.post(f"/api/servers/{server_id}/invoke", json=call)
        api.post(f"/api/servers/{server_id}/keys", json={"name": "k"})
        invocations = api.get(f"/api/servers/{server_id}/invocations").json()["items"]
        invocation_id = str(invocations[0]["id"]) if invocations else ""
    return server_id, org_id, invocation_id


@pytest.mark.parametrize("width", list(WIDTHS))
async def test_every_page_renders_cleanly(page: Page, console: Console, width: str) -> None:
    server, org, invocation = _seeded(console)
    await page.set_viewport_size(WIDTHS[width])
    anonymous = ["/", "/login", "/signup", "/docs", "/docs/quick-start", "/docs/clients", "/docs/cli", "/docs/api"]
    signed_in = [
        "/dashboard",
        "/catalog",
        "/catalog/io.github.modelcontextprotocol/time",
        "/evaluations",
        "/servers/new",
        "/servers/new?kind=command",
        f"/servers/{server}",
        f"/servers/{server}/tools",
        f"/servers/{server}/logs",
        f"/servers/{server}/metrics",
        f"/servers/{server}/invocations",
        f"/servers/{server}/invocations/{invocation}",
        f"/servers/{server}/keys",
        f"/servers/{server}/revisions",
        f"/servers/{server}/pins",
        f"/servers/{server}/domains",
        f"/servers/{server}/credentials",
        f"/servers/{server}/settings",
        f"/servers/{server}/deployed",
        "/workflows",
        "/orgs",
        f"/orgs/{org}",
        "/profile",
        "/admin",
    ]
    for path in anonymous:
        await _check(page, path)
    await sign_in(page, ADMIN_EMAIL)
    for path in [*signed_in, "/"]:
        await _check(page, path)


async def _check(page: Page, path: str) -> None:
    answer = await page.goto(path)
    assert answer is not None and answer.status == 200, f"{path}: {answer.status if answer else 'no answer'}"
    await expect(page.locator("h1")).to_have_count(1)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
