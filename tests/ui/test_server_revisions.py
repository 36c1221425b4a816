"""The revisions tab: a rollback from the table deploys an earlier revision again; the webhook section rotates the
secret (shown once), which then redeploys the server, and the delivery is listed."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.ui.live import Console
from tests.ui.observe import hosted_server, open_tab


async def test_roll_back_and_rotate_the_webhook_secret(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "revisions")
    with console.api(hosted.token) as api:
        assert api.patch(f"/api/servers/{hosted.id}", json={"env": {"GREETING": "hi"}}).status_code == 200
    await open_tab(page, hosted, "revisions")

    live = page.locator("tr[data-revision='2']")
    await expect(live).to_contain_text("live")
    await expect(live).to_contain_text("update")
    await expect(page.locator("tr[data-revision='1']")).to_contain_text(hosted.email)
    await expect(live.get_by_role("button")).to_have_count(0)  # the live revision has nothing to roll back to
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Roll back to revision 1").click()

    await expect(page.get_by_role("status")).to_contain_text("Rolled back to revision 1 as revision 3")
    await expect(page.locator("tr[data-revision='3']")).to_contain_text("live")
    await expect(page.locator("tr[data-revision='3']")).to_contain_text("rollback to 1")
    with console.api(hosted.token) as api:
        server = api.get(f"/api/servers/{hosted.id}").json()
    assert server["env"] == {} and server["revision"] == 3

    await expect(page.locator("#webhook")).to_contain_text(f"/api/servers/{hosted.id}/github")
    await expect(page.locator("#webhook")).to_contain_text("No deliveries yet.")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Rotate secret").click()
    shown = page.locator("#new-webhook-secret")
    await expect(shown).to_contain_text("mcph_wh_")
    secret = (await shown.text_content() or "").strip()
    async with httpx.AsyncClient(base_url=console.url, timeout=10) as http:
        delivered = await http.post(f"/api/servers/{hosted.id}/webhook", headers={"X-Webhook-Secret": secret})
    assert delivered.status_code == 202 and delivered.json()["revision"] == 4

    await page.reload()
    assert secret not in await page.content()  # shown once: never again
    await expect(page.locator("tr[data-revision='4']")).to_contain_text("webhook")
    await expect(page.locator("#webhook")).to_contain_text("redeployed as revision 4")


async def test_redeploy_from_the_revisions_tab(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "redeploy")
    await open_tab(page, hosted, "revisions")
    await expect(page.get_by_label("Build without the cache")).to_have_count(0)  # a package: nothing is built

    await page.get_by_role("button", name="Redeploy", exact=True).click()

    await expect(page.get_by_role("status")).to_contain_text("Redeploying as revision 2")
    await expect(page.locator("tr[data-revision='2']")).to_contain_text("live")
    await expect(page.locator("tr[data-revision='2']")).to_contain_text("redeploy")
    with console.api(hosted.token) as api:
        server = api.get(f"/api/servers/{hosted.id}").json()
    assert server["revision"] == 2
