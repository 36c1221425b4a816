"""The quick actions follow the server's status: only those that make sense are shown (and they change as the
status changes live), and one that cannot apply, asked for anyway (a stale page), is refused with a message
that says why and what to do instead. The API itself stays idempotent (scripts rely on it)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Page, expect

from mcphost.models import Server, ServerStatus
from tests.support.accounts import PASSWORD, sign_up
from tests.ui.browser import ConsoleWatch, sign_in
from tests.ui.live import Console
from tests.ui.observe import hosted_server
from tests.ui.session_http import csrf_token_of

PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "fake-server"}
SHOWN = {
    ServerStatus.RUNNING: {"Stop", "Restart"},
    ServerStatus.STOPPED: {"Start"},
    ServerStatus.ERROR: {"Start"},
    ServerStatus.INSTALLING: {"Stop"},
    ServerStatus.CRASHED: {"Stop", "Restart"},
}
REFUSED = [
    (ServerStatus.RUNNING, "start", "Cannot start refusals: it is already running."),
    (ServerStatus.STOPPED, "stop", "Cannot stop refusals: it is already stopped."),
    (ServerStatus.STOPPED, "restart", "Cannot restart refusals: it is not running; use Start."),
    (ServerStatus.ERROR, "restart", "Cannot restart refusals: it is not running (it stopped with an error); use Start"),
    (ServerStatus.STARTING, "start", "Cannot start refusals: it is already starting."),
]


def _visible_actions(html: str, server_id: str) -> set[str]:
    block = html.split(f'data-actions-for="{server_id}"', 1)[1].split("</div>", 1)[0]
    buttons = re.findall(r"<button[^>]*data-action=\"\w+\"[^>]*>(\w+)</button>", block)
    hidden = re.findall(r"<button[^>]*data-action=\"\w+\"[^>]*\bhidden\b[^>]*>(\w+)</button>", block)
    return set(buttons) - set(hidden)


async def _set_status(app: FastAPI, server_id: str, status: ServerStatus) -> None:
    async with app.state.platform.db.session_scope() as session:
        server = await session.get(Server, uuid.UUID(server_id))
        assert server is not None
        server.status = status


async def _console_of_a_server(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    admin = await sign_up(client, "admin@example.com")
    assert (
        "mcphost_session"
        in (await client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})).cookies
    )
    created = await client.post(
        "/api/servers", json={"name": "refusals", "source": PACKAGE, "start": False}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    page = await client.get("/dashboard", headers={"Accept": "text/html"})
    htmx = {"Accept": "text/html", "HX-Request": "true", "X-CSRF-Token": csrf_token_of(page.text)}
    return str(created.json()["id"]), htmx


async def test_only_the_actions_a_status_allows_are_shown(app: FastAPI, client: httpx.AsyncClient) -> None:
    server, _htmx = await _console_of_a_server(client)
    for status, shown in SHOWN.items():
        await _set_status(app, server, status)
        for path in ("/dashboard", f"/servers/{server}"):
            html = (await client.get(path, headers={"Accept": "text/html"})).text
            assert _visible_actions(html, server) == shown, f"{status} on {path}"


@pytest.mark.parametrize(("status", "action", "message"), REFUSED, ids=[f"{a}-when-{s}" for s, a, _ in REFUSED])
async def test_an_action_that_cannot_apply_is_refused_with_the_reason(
    app: FastAPI, client: httpx.AsyncClient, status: ServerStatus, action: str, message: str
) -> None:
    server, htmx = await _console_of_a_server(client)
    await _set_status(app, server, status)

    answer = await client.post(f"/servers/{server}/{action}", headers=htmx)

    assert answer.status_code == 409, answer.text
    assert answer.headers["HX-Retarget"] == "#flash"  # shown in the page's message region
    assert message in answer.text.replace("&#39;", "'")
    async with app.state.platform.db.session_scope() as session:
        unchanged = await session.get(Server, uuid.UUID(server))
        assert unchanged is not None and unchanged.status is status


async def test_an_action_that_applies_is_accepted(app: FastAPI, client: httpx.AsyncClient) -> None:
    server, htmx = await _console_of_a_server(client)
    await _set_status(app, server, ServerStatus.STOPPED)
    assert (await client.post(f"/servers/{server}/start", headers=htmx)).status_code == 204


async def test_the_buttons_follow_the_status_live_and_a_stale_one_says_why(
    page: Page, console: Console, console_watch: ConsoleWatch
) -> None:
    hosted = hosted_server(console, "actions-live")
    await sign_in(page, hosted.email)
    await page.goto(f"/servers/{hosted.id}")
    actions = page.locator(f'.page-header [data-actions-for="{hosted.id}"]')
    start = actions.get_by_role("button", name="Start", exact=True)
    stop = actions.get_by_role("button", name="Stop", exact=True)
    restart = actions.get_by_role("button", name="Restart", exact=True)
    await expect(stop).to_be_visible()
    await expect(restart).to_be_visible()
    await expect(start).to_be_hidden()

    await stop.click()
    await expect(page.locator(f'.page-header [data-status-for="{hosted.id}"]')).to_have_text("stopped")
    await expect(start).to_be_visible()
    await expect(stop).to_be_hidden()
    await expect(restart).to_be_hidden()

    hosted.act("start")  # elsewhere (the API): the page follows
    await expect(page.locator(f'.page-header [data-status-for="{hosted.id}"]')).to_have_text("running")
    await expect(stop).to_be_visible()
    await expect(start).to_be_hidden()

    # A page whose live stream fell behind still shows Start on a running server: pressing it says why not.
    await page.evaluate(
        "id => document.querySelector(`.page-header [data-actions-for='${id}'] [data-action=start]`).hidden = false",
        hosted.id,
    )
    console_watch.expect_status(409)  # on purpose: Chromium logs the refused request
    await start.click()
    await expect(page.locator("#flash")).to_contain_text("Cannot start observed: it is already running.")
