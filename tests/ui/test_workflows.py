"""The workflow pages: a user defines a workflow in the JSON editor (a mistake is shown with what to fix, and the
text is kept), runs it with an input, and sees the run as a timeline: a bar per step, coloured by its status, with
the rendered input and output; a step that fails is red and the one after it is skipped. The pages fit a phone."""

from __future__ import annotations

import json
import re

from playwright.async_api import Page, expect

from tests.ui.browser import ConsoleWatch
from tests.ui.live import Console
from tests.ui.observe import hosted_server, open_tab


def _definition(slug: str, *, tool: str = "echo") -> str:
    return json.dumps(
        {
            "name": "Greeter",
            "input_schema": {"type": "object", "properties": {"who": {"type": "string"}}, "required": ["who"]},
            "steps": [
                {"id": "hello", "server": slug, "tool": tool, "arguments": {"text": "Hello {{ input.who }}"}},
                {"id": "shout", "server": slug, "tool": "echo", "arguments": {"text": "{{ input.who|upper }}"}},
                {
                    "id": "both",
                    "server": slug,
                    "tool": "echo",
                    "arguments": {"text": "{{ steps.hello.output }} / {{ steps.shout.output }}"},
                },
                {"id": "broken", "server": slug, "tool": "echo", "arguments": {"text": "{{ steps.both.output.x }}"}},
                {"id": "after", "server": slug, "tool": "echo", "arguments": {"text": "{{ steps.broken.output }}"}},
            ],
        }
    )


async def test_define_run_and_see_the_timeline(page: Page, console: Console, console_watch: ConsoleWatch) -> None:
    console_watch.expect_status(422)
    hosted = hosted_server(console, "flows")
    await open_tab(page, hosted, "tools")  # signs in as the server's owner
    await page.get_by_role("link", name="Workflows").click()
    await expect(page.get_by_role("heading", name="Workflows", level=1)).to_be_visible()

    editor = page.get_by_label("Definition (JSON)")
    await editor.fill(_definition(hosted.server["slug"], tool="teleport"))
    await page.get_by_role("button", name="Create workflow").click()
    await expect(page.get_by_role("alert")).to_contain_text("has no tool 'teleport'")
    await expect(editor).to_have_value(re.compile("teleport"))  # the text is kept to fix

    await editor.fill(_definition(hosted.server["slug"]))
    await page.get_by_role("button", name="Create workflow").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Greeter")
    await expect(page.locator("table").first).to_contain_text("hello, shout")  # what "both" waits for

    await page.get_by_label("Input (JSON)").fill('{"who": "Ada"}')
    await page.get_by_role("button", name="Run").click()
    timeline = page.locator("#run-timeline")
    await expect(timeline.locator("#run-status")).to_have_text("failed", timeout=20_000)
    for step, status in (("hello", "succeeded"), ("shout", "succeeded"), ("both", "succeeded"), ("broken", "failed")):
        row = timeline.locator(f"[data-step='{step}']")
        await expect(row).to_have_attribute("data-status", status)
        bar = row.locator(f".wf-bar.wf-{status}")
        await expect(bar).to_have_count(1)
        colour = await bar.evaluate("element => getComputedStyle(element).backgroundColor")
        assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), (step, colour)
    ok = await timeline.locator("[data-step='hello'] .wf-bar").evaluate("e => getComputedStyle(e).backgroundColor")
    bad = await timeline.locator("[data-step='broken'] .wf-bar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert ok != bad  # colour by status
    after = timeline.locator("[data-step='after']")
    await expect(after).to_have_attribute("data-status", "skipped")
    await expect(after.locator(".wf-bar")).to_have_count(0)  # never started: no bar
    both = timeline.locator("[data-step='both']")
    await both.locator("summary").click()
    await expect(both).to_contain_text('"Hello Ada / ADA"')
    await expect(timeline).to_contain_text("no attribute 'x'")

    await page.set_viewport_size({"width": 390, "height": 844})
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the workflow page scrolls sideways by {overflow}px on a phone"
