"""The Invocations tab: the calls made to a server, filtered by tool and status (in the address too), and the
detail of one call with its request and response."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, expect

from tests.ui.live import Console
from tests.ui.observe import hosted_server, open_tab


async def test_the_table_lists_calls_and_filters_by_tool_and_status(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "invocations-table")
    hosted.call("echo", text="first words")
    hosted.call("echo", text="second words")
    with console.api(hosted.token) as api:
        assert api.post(f"/api/servers/{hosted.id}/invoke", json={"method": "tools/list"}).status_code == 200
        failed = api.post(f"/api/servers/{hosted.id}/invoke", json={"method": "prompts/list"})
        assert failed.json()["error"]["code"] == -32601
    await open_tab(page, hosted, "invocations")

    rows = page.get_by_role("row").filter(has=page.get_by_role("cell"))
    await expect(rows).to_have_count(4)
    await expect(rows.first).to_contain_text("prompts/list")
    await expect(rows.filter(has_text="echo")).to_have_count(2)

    await page.get_by_label("Tool").fill("echo")
    await page.get_by_label("Tool").press("Enter")
    await expect(rows).to_have_count(2)
    await page.wait_for_url(re.compile(r"/invocations\?.*tool=echo"))
    for index in range(2):
        await expect(rows.nth(index)).to_contain_text("tools/call")
        await expect(rows.nth(index)).to_contain_text("ok")

    await page.get_by_label("Status").select_option("error")
    await expect(page.get_by_role("heading", name="No invocations match")).to_be_visible()
    await page.wait_for_url(re.compile(r"tool=echo.*status=error"))

    await page.get_by_label("Tool").fill("")
    await page.get_by_label("Tool").press("Enter")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("prompts/list")
    await expect(rows.first).to_contain_text("-32601")

    await page.reload()  # the filters live in the address
    await expect(page.get_by_label("Status")).to_have_value("error")
    await expect(rows).to_have_count(1)


async def test_the_detail_shows_the_request_and_the_response(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "invocations-detail")
    hosted.call("echo", text="a message worth keeping")
    await open_tab(page, hosted, "invocations")
    row = page.get_by_role("row").filter(has_text="echo")
    await row.get_by_role("link").click()
    await page.wait_for_url(re.compile(rf"/servers/{hosted.id}/invocations/\d+$"))

    await expect(page.get_by_role("heading", name=re.compile(r"^tools\/call · echo"))).to_be_visible()
    request = page.get_by_role("region", name="Request")
    await expect(request).to_contain_text('"name": "echo"')
    await expect(request).to_contain_text('"text": "a message worth keeping"')
    response = page.get_by_role("region", name="Response")
    await expect(response).to_contain_text('"type": "text"')
    await expect(response).to_contain_text('"text": "a message worth keeping"')
    await expect(page.get_by_role("region", name="Client")).to_contain_text(hosted.email)
    await expect(page.get_by_role("region", name="Timing")).to_contain_text(" ms")


def test_pages_and_filters_answer_clearly(console: Console) -> None:
    hosted = hosted_server(console, "invocations-http")
    with httpx.Client(base_url=console.url, timeout=10, cookies={"mcphost_session": hosted.token}) as http:
        html = {"Accept": "text/html"}
        bad_status = http.get(f"/servers/{hosted.id}/invocations", params={"status": "maybe"}, headers=html)
        assert bad_status.status_code == 422 and "status: choose ok or error" in bad_status.text
        bad_cursor = http.get(f"/servers/{hosted.id}/invocations", params={"cursor": "nope"}, headers=html)
        assert bad_cursor.status_code == 422 and "cursor is not valid" in bad_cursor.text
        missing = http.get(f"/servers/{hosted.id}/invocations/999999999", headers=html)
        assert missing.status_code == 404 and "No invocation with this id" in missing.text
        fragment = http.get(
            f"/servers/{hosted.id}/invocations",
            params={"status": "ok"},
            headers={"HX-Request": "true", "HX-Target": "invocation-results"},
        )
        assert fragment.status_code == 200 and "No invocations match" in fragment.text
        assert "<nav" not in fragment.text  # only the part the filter replaces
        bad_window = http.get(f"/servers/{hosted.id}/metrics", params={"window": "2y"}, headers=html)
        assert bad_window.status_code == 422 and "window: choose 1h, 24h or 7d" in bad_window.text
