"""The dashboard: the empty state, server cards with live status, and the quick actions on a card."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Dialog, Page, expect

from tests.support.waiting import until
from tests.ui.browser import sign_in, sign_up
from tests.ui.live import Console, unique_email
from tests.ui.session_http import csrf_token_of

TIME = "io.github.modelcontextprotocol/time"


def _deploy(console: Console, token: str, name: str) -> dict[str, Any]:
    with console.api(token) as api:
        created = api.post("/api/servers", json={"name": name, "source": {"type": "catalog", "name": TIME}})
        assert created.status_code == 201, created.text
        return dict(created.json())


async def _accept(dialog: Dialog) -> None:
    """Say yes to the confirmation the delete button asks for."""
    await dialog.accept()


async def test_a_new_user_sees_the_empty_state_and_follows_it_to_the_catalog(page: Page) -> None:
    await sign_up(page, unique_email("empty"))
    await expect(page.get_by_role("heading", name="No servers yet")).to_be_visible()
    await page.get_by_role("link", name="Deploy your first server").click()
    await page.wait_for_url("**/catalog")
    await expect(page.get_by_role("heading", name="Catalog", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="Time", exact=True)).to_be_visible()


async def test_a_card_shows_the_server_and_follows_its_status_live(page: Page, console: Console) -> None:
    email = unique_email("cards")
    token = console.register(email)
    server = _deploy(console, token, "Clock")
    await sign_in(page, email)

    card = page.get_by_role("listitem", name="Clock")
    badge = card.locator(f'[data-status-for="{server["id"]}"]')
    await expect(badge).to_have_text("running")
    await expect(card.get_by_role("link", name="Clock")).to_have_attribute("href", f"/servers/{server['id']}")
    await expect(card).to_contain_text("fake")  # the runtime badge
    await expect(card).to_contain_text("0 restarts")
    await expect(card).to_contain_text(f"catalog: {TIME}")
    await expect(card.locator("code")).to_have_text(server["endpoint_url"])
    await expect(card.get_by_role("button", name="Copy the endpoint of Clock")).to_be_visible()

    with console.api(token) as api:
        assert api.post(f"/api/servers/{server['id']}/stop").status_code == 202
    await expect(badge).to_have_text("stopped")  # without reloading
    with console.api(token) as api:
        assert api.post(f"/api/servers/{server['id']}/start").status_code == 202
    await expect(badge).to_have_text("running")


async def test_servers_created_and_deleted_elsewhere_come_and_go_without_reload(page: Page, console: Console) -> None:
    email = unique_email("elsewhere")
    token = console.register(email)
    await sign_in(page, email)
    await expect(page.get_by_role("heading", name="No servers yet")).to_be_visible()

    server = _deploy(console, token, "From the API")
    card = page.get_by_role("listitem", name="From the API")
    await expect(card.locator(f'[data-status-for="{server["id"]}"]')).to_have_text("running")

    with console.api(token) as api:
        assert api.delete(f"/api/servers/{server['id']}").status_code == 204
    await expect(card).to_have_count(0)
    await expect(page.get_by_role("heading", name="No servers yet")).to_be_visible()


async def test_stop_restart_and_delete_from_the_card(page: Page, console: Console) -> None:
    email = unique_email("actions")
    token = console.register(email)
    server = _deploy(console, token, "Actions")
    _deploy(console, token, "Bystander")
    await sign_in(page, email)
    card = page.get_by_role("listitem", name="Actions", exact=True)
    badge = card.locator(f'[data-status-for="{server["id"]}"]')
    await expect(badge).to_have_text("running")

    await expect(card.get_by_role("button", name="Start", exact=True)).to_be_hidden()  # it runs: Stop and Restart apply
    await card.get_by_role("button", name="Stop", exact=True).click()
    await expect(badge).to_have_text("stopped")
    await expect(card.get_by_role("button", name="Restart", exact=True)).to_be_hidden()
    await card.get_by_role("button", name="Start", exact=True).click()
    await expect(badge).to_have_text("running")
    await card.get_by_role("button", name="Restart", exact=True).click()
    with console.api(token) as api:
        until(
            lambda: "restart" in {e["kind"] for e in api.get(f"/api/servers/{server['id']}/metrics").json()["events"]},
            "the restart recorded",
        )
    await expect(badge).to_have_text("running")
    await expect(page.locator("#flash")).to_be_empty()

    page.once("dialog", _accept)
    await card.get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("listitem", name="Actions", exact=True)).to_have_count(0)
    await expect(page.get_by_role("listitem", name="Bystander")).to_be_visible()
    with console.api(token) as api:
        until(lambda: api.get(f"/api/servers/{server['id']}").status_code == 404, "the server deleted")


def test_actions_need_the_csrf_token(console: Console) -> None:
    email = unique_email("csrf")
    token = console.register(email)
    server = _deploy(console, token, "Guarded")
    with httpx.Client(base_url=console.url, timeout=10, cookies={"mcphost_session": token}) as http:
        http.get("/dashboard")
        refused = http.post(f"/servers/{server['id']}/stop", headers={"HX-Request": "true"})
        assert refused.status_code == 403
        assert "reload the page" in refused.text
        page = http.get("/dashboard").text
        csrf = csrf_token_of(page)
        stopped = http.post(f"/servers/{server['id']}/stop", headers={"HX-Request": "true", "X-CSRF-Token": csrf})
        assert stopped.status_code == 204
        other = console.register(unique_email("stranger"))
    with httpx.Client(base_url=console.url, timeout=10, cookies={"mcphost_session": other}) as http:
        csrf = csrf_token_of(http.get("/dashboard").text)
        hidden = http.post(f"/servers/{server['id']}/delete", headers={"HX-Request": "true", "X-CSRF-Token": csrf})
        assert hidden.status_code == 404  # another user's server does not exist for them


async def test_a_crash_shows_on_the_card_without_reload(page: Page, console: Console) -> None:
    email = unique_email("crashing")
    token = console.register(email)
    server = _deploy(console, token, "Crashing")
    await sign_in(page, email)
    card = page.get_by_role("listitem", name="Crashing", exact=True)
    await expect(card.locator(f'[data-restarts-for="{server["id"]}"]')).to_have_text("0 restarts")

    crash = {"method": "tools/call", "params": {"name": "crash", "arguments": {}}}
    with console.api(token) as api:
        api.post(f"/api/servers/{server['id']}/invoke", json=crash)
    await expect(card.locator(f'[data-restarts-for="{server["id"]}"]')).to_have_text("1 restart")
    await expect(card.locator(f'[data-status-for="{server["id"]}"]')).to_have_text("running")
