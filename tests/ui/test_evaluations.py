"""The Evaluations page: a user creates a suite, adds cases with the forms, runs it, watches the results fill in with
their scores, and finds the server ranked on the scoreboard; the pages fit a phone's width."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.ui.browser import sign_in
from tests.ui.live import Console
from tests.ui.observe import hosted_server


async def _add_case(page: Page, arguments: str, expected: str, mode: str, name: str) -> None:
    form = page.locator("form", has=page.get_by_role("button", name="Add case"))
    await form.get_by_label("Tool").fill("echo")
    await form.get_by_label("Arguments (JSON)").fill(arguments)
    await form.get_by_label("Expected output").fill(expected)
    await form.get_by_label("Match mode").select_option(mode)
    await form.get_by_label("Name").fill(name)
    await form.get_by_role("button", name="Add case").click()
    await expect(page.locator("#cases")).to_contain_text(name)


async def test_a_user_runs_a_suite_and_sees_the_scores(page: Page, console: Console) -> None:
    hosted = hosted_server(console, "evals", name="graded")
    await sign_in(page, hosted.email)

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Evaluations").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Evaluations")
    await expect(page.locator("body")).to_contain_text("No server has been evaluated yet")
    await page.get_by_label("Name").fill("greetings")
    await page.get_by_role("button", name="Create suite").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("greetings")

    suite_url = page.url
    await _add_case(page, '{"text": "hello there"}', "hello there", "exact", "says hello")
    await _add_case(page, '{"text": "hello there"}', "goodbye", "contains", "says goodbye")
    await page.get_by_role("button", name="Run now").click()

    await page.wait_for_url("**/evaluations/runs/*")
    await expect(page.locator("#run-status")).to_have_text("failed")
    await expect(page.locator("#run-summary")).to_contain_text("1 of 2 passed · average score 0.500")
    hello = page.locator("tr[data-case='says hello']")
    await expect(hello).to_contain_text("pass")
    await expect(hello.locator(".score")).to_have_text("1.000")
    goodbye = page.locator("tr[data-case='says goodbye']")
    await expect(goodbye).to_contain_text("fail")
    await expect(goodbye.locator(".score")).to_have_text("0.000")
    await expect(goodbye).to_contain_text("hello there")
    run_url = page.url

    await page.goto("/evaluations")
    ranked = page.locator("#scoreboard tr", has_text="graded")
    await expect(ranked).to_contain_text("0.500")
    await expect(ranked).to_contain_text("50% (1/2)")
    await expect(page.locator("#suites")).to_contain_text("greetings")

    await page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/evaluations", suite_url, run_url):
        await page.goto(path)
        await expect(page.locator("h1")).to_have_count(1)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
