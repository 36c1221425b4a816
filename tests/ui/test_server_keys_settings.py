"""The access keys and settings tabs: a key is shown once, works on the endpoint until revoked; settings are saved,
secrets shown by name only, and a wrong value is refused naming its field."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.support.waiting import until
from tests.ui.browser import ConsoleWatch, sign_in
from tests.ui.live import Console, unique_email
from tests.ui.observe import PACKAGE, Hosted, hosted_server
from tests.ui.session_http import signed_in

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


def initialize_with(console: Console, hosted: Hosted, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}
    with httpx.Client(base_url=console.url, timeout=10) as http:
        return http.post(f"/mcp/{hosted.server['slug']}", json=INITIALIZE, headers=headers).status_code


async def open_tab(page: Page, hosted: Hosted, tab: str) -> None:
    await sign_in(page, hosted.email)
    await page.goto(f"/servers/{hosted.id}/{tab}")


async def test_a_new_key_is_shown_once_works_and_is_refused_after_revoking(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "keys")
    await open_tab(page, hosted, "keys")
    await expect(page.get_by_role("cell", name="default", exact=True)).to_be_visible()

    await page.get_by_label("Key name").fill("laptop")
    await page.get_by_role("button", name="Create key").click()

    created = page.locator("#new-key-value")
    await expect(created).to_contain_text("mcph_sk_")
    key = (await created.text_content() or "").strip()
    await expect(page.locator("#new-key-command")).to_contain_text(f"Authorization: Bearer {key}")
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="laptop", exact=True))
    await expect(row).to_contain_text("active")
    assert initialize_with(console, hosted, key) == 200

    await page.reload()
    assert key not in await page.content()  # shown once: never again

    page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Revoke laptop").click()

    await expect(row).to_contain_text("revoked")
    assert until(lambda: initialize_with(console, hosted, key) == 401, "the revoked key refused")


async def test_settings_keep_env_and_secret_names_but_never_a_secret_value(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "settings")
    secret_value = "s3cr3t-value-that-must-not-show"
    await open_tab(page, hosted, "settings")

    await page.get_by_role("button", name="Add variable").click()
    await page.get_by_label("Variable name").last.fill("GREETING")
    await page.get_by_label("Value of the new variable").last.fill("bonjour")
    await page.get_by_label("New secret name").fill("API_TOKEN")
    await page.get_by_label("New secret value").fill(secret_value)
    await page.get_by_role("button", name="Save settings").click()

    await expect(page.get_by_role("status")).to_contain_text("Saved")
    await page.reload()
    await expect(page.get_by_label("Variable name").first).to_have_value("GREETING")
    await expect(page.get_by_label("Value of GREETING")).to_have_value("bonjour")
    await expect(page.locator(".secret-name")).to_have_text(["API_TOKEN"])
    assert secret_value not in await page.content()
    with console.api(hosted.token) as api:
        server = api.get(f"/api/servers/{hosted.id}").json()
    assert server["env"] == {"GREETING": "bonjour"}
    assert server["secret_env"] == ["API_TOKEN"]


async def test_a_wrong_memory_value_is_refused_naming_the_field(
    page: Page, console: Console, console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(422)
    hosted = hosted_server(console, "settings-bad")
    await open_tab(page, hosted, "settings")

    await page.get_by_label("Memory").fill("lots")
    await page.get_by_role("button", name="Save settings").click()

    await expect(page.locator("#flash")).to_contain_text("Memory: 'lots' is not a memory size")
    with console.api(hosted.token) as api:
        assert api.get(f"/api/servers/{hosted.id}").json()["resources"]["memory_limit"] is None


async def test_an_org_viewer_sees_read_only_settings_and_cannot_save(page: Page, console: Console) -> None:
    owner_email, viewer_email = unique_email("org-owner"), unique_email("org-viewer")
    owner, viewer = console.register(owner_email), console.register(viewer_email)
    with console.api(owner) as api:
        org = api.post("/api/orgs", json={"name": f"Team {owner_email}"}).json()
        added = api.post(f"/api/orgs/{org['id']}/members", json={"email": viewer_email, "role": "viewer"})
        assert added.status_code in (200, 201), added.text
        body = {"name": "shared", "org_id": org["id"], "start": False, "source": PACKAGE}
        server = api.post("/api/servers", json=body).json()
    await sign_in(page, viewer_email)
    await page.goto(f"/servers/{server['id']}/settings")

    await expect(page.get_by_text("changing them needs the member role")).to_be_visible()
    await expect(page.get_by_label("Memory")).to_be_disabled()
    await expect(page.get_by_role("button", name="Save settings")).to_have_count(0)
    await page.goto(f"/servers/{server['id']}/keys")
    await expect(page.get_by_role("button", name="Create key")).to_have_count(0)
    settings = f"/servers/{server['id']}/settings"
    with signed_in(console, viewer) as http:
        saved = http.post(settings, data={"memory_limit": "1G"})
    assert saved.status_code == 403
    assert "member role" in saved.text
