"""The credentials page: a server that takes a value from each user shows the tab; a user sets their value (a
password field, never shown again) and the API says it is set."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.ui.live import Console
from tests.ui.observe import hosted_server, open_tab


async def test_a_user_sets_their_own_value(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "credentials")
    with console.api(hosted.token) as api:
        changed = api.patch(
            f"/api/servers/{hosted.id}", json={"isolation": "per_user", "per_user_env": ["GITHUB_TOKEN"]}
        )
        assert changed.status_code == 200, changed.text
    await open_tab(page, hosted, "credentials")

    await expect(page.get_by_role("link", name="Your credentials")).to_have_attribute("aria-current", "page")
    await expect(page.locator("#credentials")).to_contain_text("Missing: GITHUB_TOKEN")
    await page.get_by_label("GITHUB_TOKEN").fill("my-own-token")
    await page.get_by_role("button", name="Save").click()

    await expect(page.get_by_role("status")).to_contain_text("Saved: GITHUB_TOKEN")
    assert "my-own-token" not in await page.content()
    with console.api(hosted.token) as api:
        assert api.get(f"/api/servers/{hosted.id}/credentials").json()["set"] == ["GITHUB_TOKEN"]
