"""Fixtures of the console tests: one running instance per test module, a fresh browser context per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.ui.browser import ConsoleWatch
from tests.ui.live import CHROMIUM, CHROMIUM_ARGS, Console, running_console

# Assertions wait as long as actions do (Playwright's default for expect is 5 s): on a busy 2-core CI machine a
# server's restart or a tool call seen through the browser can take longer, and a wait ends as soon as it holds.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with running_console(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def console_watch() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
async def page(browser: Browser, console: Console, console_watch: ConsoleWatch) -> AsyncIterator[Page]:
    """A page in a new browser context (no cookies) at desktop size; fails the test on any console error."""
    context = await browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    opened = await context.new_page()
    console_watch.attach(opened)
    context.on("page", console_watch.attach)
    try:
        yield opened
    finally:
        await context.close()
    assert not console_watch.errors, "\n".join(console_watch.errors)
