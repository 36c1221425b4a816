"""The Logs tab: the newest lines at once, new ones live without reloading, pause, search and download."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, expect

from tests.ui.live import Console
from tests.ui.observe import hosted_server, open_tab


async def test_new_lines_appear_live_and_pause_holds_them_until_resume(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "logs-live")
    await open_tab(page, hosted, "logs")
    log = page.get_by_role("log", name="Log of observed")
    await expect(log.locator(".logline.stderr", has_text="fake: ready")).to_have_count(1)
    running = log.locator(".logline", has_text="running (fake)")
    await expect(running).to_have_count(1)
    await expect(page.locator("#log-state")).to_have_text("Live")

    hosted.act("restart")
    await expect(running).to_have_count(2)  # arrived over the live stream, no reload
    preparing = log.locator(".logline.platform", has_text="preparing fake-server")
    await expect(preparing).to_have_count(2)

    pause = page.get_by_role("button", name="Pause")
    await pause.click()
    resume = page.get_by_role("button", name="Resume")
    await expect(resume).to_have_attribute("aria-pressed", "true")
    hosted.act("restart")
    await expect(page.locator("#log-state")).to_contain_text(re.compile(r"Paused · \d+ new"))
    hosted.wait_for("running")
    await expect(page.locator("#log-state")).to_contain_text(re.compile(r"Paused · \d+ new"))
    assert await running.count() == 2
    await resume.click()
    await expect(page.get_by_role("button", name="Pause")).to_have_attribute("aria-pressed", "false")
    await expect(running).to_have_count(3)
    await expect(preparing).to_have_count(3)


async def test_search_filters_the_lines_and_enter_searches_all_stored_lines(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "logs-search")
    await open_tab(page, hosted, "logs")
    log = page.get_by_role("log")
    await expect(log.locator(".logline", has_text="running (fake)")).to_be_visible()

    await page.get_by_role("searchbox", name="Search").fill("READY")
    await expect(log.locator(".logline", has_text="running (fake)")).to_be_hidden()
    await expect(log.locator(".logline", has_text="fake: ready")).to_be_visible()
    await expect(log.locator("mark")).to_have_text("ready")

    await page.get_by_role("searchbox", name="Search").press("Enter")
    await page.wait_for_url(re.compile(r"/logs\?q=READY$"))
    await expect(log.locator(".logline")).to_have_count(1)
    await expect(log.locator(".logline")).to_contain_text("fake: ready")
    await expect(page.get_by_role("searchbox", name="Search")).to_have_value("READY")


async def test_download_returns_the_history_as_a_text_file(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "logs-download", name="Downloaded Logs")
    await open_tab(page, hosted, "logs")
    async with page.expect_download() as started:
        await page.get_by_role("link", name="Download", exact=True).click()
    download = await started.value
    assert re.fullmatch(r"downloaded-logs(-[0-9a-f]{6})?-logs-\d{8}-\d{6}\.txt", download.suggested_filename)
    path = await download.path()
    text = path.read_text()
    assert re.search(r"^\S+ stderr fake: ready$", text, re.MULTILINE)
    assert re.search(r"^\S+ platform running \(fake\)$", text, re.MULTILINE)


def test_the_logs_of_someone_elses_server_are_not_found(console: Console) -> None:
    hosted = hosted_server(console, "logs-owner")
    stranger = console.register(hosted.email.replace("logs-owner", "logs-stranger"))
    with httpx.Client(base_url=console.url, timeout=10, cookies={"mcphost_session": stranger}) as http:
        for path in ("logs", "logs/download"):
            answer = http.get(f"/servers/{hosted.id}/{path}", headers={"Accept": "text/html"})
            assert answer.status_code == 404, path
            assert "No server with this id" in answer.text
    with httpx.Client(base_url=console.url, timeout=10) as http:
        answer = http.get(f"/servers/{hosted.id}/logs/download")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
