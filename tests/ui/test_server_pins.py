"""The pins tab: a tool the server added after its first sync is held, shown with what is new, and approved with
its button; the policy can be changed by the owner. The tools tab: an owner disables a tool."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.waiting import until
from tests.ui.live import Console
from tests.ui.observe import hosted_server, open_tab


async def test_a_held_tool_is_shown_with_its_change_and_approved(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "pins")
    hosted.call("grow")  # the fake server adds a tool and announces it: a new tool is held

    def held() -> list[str]:
        with console.api(hosted.token) as api:
            return list(api.get(f"/api/servers/{hosted.id}").json()["held"].get("tool", []))

    name = until(held, "a held tool")[0]
    await open_tab(page, hosted, "pins")

    row = page.locator(f"tr[data-pin='tool:{name}']")
    await expect(row).to_contain_text("held")
    await expect(row.locator(".pin-diff")).to_contain_text("new: never approved")
    await expect(page.locator("tr[data-pin='tool:echo']")).to_contain_text("approved")
    await row.get_by_role("button", name=f"Approve tool {name}").click()

    await expect(page.get_by_role("status")).to_contain_text(f"Approved: {name}")
    await expect(page.locator(f"tr[data-pin='tool:{name}']")).to_contain_text("approved")
    assert held() == []

    await page.get_by_label("Policy").select_option("warn")
    await page.get_by_role("button", name="Save policy").click()
    await expect(page.get_by_role("status")).to_contain_text("Pin policy: warn")


async def test_an_owner_disables_a_tool_on_the_tools_tab(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "rules")
    await open_tab(page, hosted, "tools")

    card = page.locator("article.tool", has=page.get_by_role("heading", name="crash"))
    await card.get_by_label("Who may use it").select_option("disabled")
    await card.get_by_role("button", name="Save").click()

    await expect(card.get_by_role("status")).to_contain_text("Saved: disabled")
    with console.api(hosted.token) as api:
        assert api.get(f"/api/servers/{hosted.id}").json()["tool_rules"]["disabled"] == ["crash"]
    refused = hosted.call("crash")
    assert refused["error"]["data"] == {"reason": "disabled"}
