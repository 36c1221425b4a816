"""The Metrics tab: charts drawn from the server's calls, a window to choose, and the event list with its
kind filter (new events arrive live)."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.ui.live import Console
from tests.ui.observe import hosted_server, open_tab


async def test_charts_summarise_the_calls_and_the_window_can_be_changed(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "metrics-charts")
    for text in ("one", "two", "three"):
        hosted.call("echo", text=text)
    await open_tab(page, hosted, "metrics")

    calls = page.get_by_role("img", name=re.compile("^Calls per second"))
    await expect(calls).to_have_attribute("aria-label", re.compile(r"over the last hour: 3 calls in total"))
    await expect(page.get_by_role("img", name=re.compile("^Latency over the last hour: median"))).to_be_visible()
    await expect(page.get_by_role("img", name=re.compile("^Errors"))).to_have_attribute(
        "aria-label", "Errors over the last hour: 0 of 3 calls failed"
    )
    await expect(page.get_by_text("No restarts or crashes in the last hour.")).to_be_visible()

    await page.get_by_label("Window").select_option(label="Last 24 hours")
    await expect(calls).to_have_attribute("aria-label", re.compile(r"over the last 24 hours: 3 calls in total"))
    await page.wait_for_url(re.compile(r"/metrics\?window=24h$"))


async def test_a_server_without_calls_shows_empty_states(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "metrics-empty")
    await open_tab(page, hosted, "metrics")
    await expect(page.get_by_text("No calls in the last hour.")).to_have_count(3)
    await expect(page.get_by_role("img")).to_have_count(0)


async def test_the_event_list_filters_by_kind_and_adds_new_events_live(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "metrics-events")
    await open_tab(page, hosted, "metrics")
    events = page.locator("#events li")
    starts = events.filter(has=page.locator(".badge", has_text=re.compile("^start$")))
    await expect(starts).to_have_count(1)
    before = await events.count()
    assert before > 1

    start_box = page.get_by_role("checkbox", name="start", exact=True)
    await expect(start_box).to_be_checked()
    await start_box.uncheck()
    await expect(starts).to_have_count(0)
    await expect(events).to_have_count(before - 1)

    hosted.call("crash")  # the server exits: a crash and a restart are recorded, and sent live
    crashes = events.filter(has=page.locator(".badge", has_text="crash"))
    await expect(crashes).to_have_count(1)
    await expect(page.get_by_role("checkbox", name="crash", exact=True)).to_be_checked()
    await expect(events.first).to_contain_text(re.compile("crash|restart"))

    hosted.wait_for("running")  # its start after the restart is not shown: start is unticked
    await page.get_by_role("checkbox", name="crash", exact=True).uncheck()
    await expect(crashes).to_have_count(0)
    await expect(starts).to_have_count(0)
    await page.get_by_role("checkbox", name="start", exact=True).check()
    await expect(starts).to_have_count(2)

    await page.reload()
    await expect(
        page.get_by_role("img", name=re.compile(r"^Restarts over the last hour: 1 restarts, 1 crashes"))
    ).to_be_visible()
