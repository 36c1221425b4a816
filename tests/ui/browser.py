"""The browser side of the console tests: Debian's Chromium driven by Playwright, and the watch on its console.

Every page a test opens reports its console errors and uncaught exceptions; the ``page`` fixture fails the test
if any appeared. A test that provokes an error answer on purpose (a wrong password answers 401, and Chromium
logs "Failed to load resource" for it) says so with ``expect_status``; nothing else is excused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.async_api import ConsoleMessage, Error, Page

from tests.ui.live import PASSWORD

_FAILED_LOAD = re.compile(r"status of (\d{3})")


@dataclass
class ConsoleWatch:
    errors: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def expect_status(self, *statuses: int) -> None:
        """This test provokes these HTTP error statuses on purpose; Chromium's log lines about them are fine."""
        self.expected_statuses.update(statuses)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = _FAILED_LOAD.search(message.text)
        if failed and int(failed.group(1)) in self.expected_statuses:
            return
        self.errors.append(f"console error at {message.location.get('url', '?')}: {message.text}")

    def _on_page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught exception: {error}")


async def sign_up(page: Page, email: str, password: str = PASSWORD) -> None:
    """Create an account through the sign-up form; ends on the dashboard, signed in."""
    await page.goto("/signup")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url("**/dashboard")


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")
