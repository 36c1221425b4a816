"""The Services tab: an owner attaches Redis (the machine's real Redis), sees what was made and the variable names
(never a value), and detaches it after typing the server's slug; a wrong slug drops nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from tests.integrations.stores import REDIS_URL
from tests.ui.browser import ConsoleWatch
from tests.ui.live import Console, running_console
from tests.ui.observe import hosted_server, open_tab


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with running_console(tmp_path_factory.mktemp("console"), MCPHOST_INTEGRATIONS__REDIS__ADMIN_URL=REDIS_URL) as up:
        yield up


async def test_an_owner_attaches_and_detaches_redis(page: Page, console: Console, console_watch: ConsoleWatch) -> None:
    console_watch.expect_status(409)  # the detach with a wrong slug
    hosted = hosted_server(console, "services")
    await open_tab(page, hosted, "services")
    await expect(page.get_by_text("No service attached.")).to_be_visible()
    await expect(page.get_by_text("Not configured on this platform: PostgreSQL, S3 storage")).to_be_visible()

    await page.get_by_role("button", name="Attach Redis").click()
    card = page.locator("article[data-service='redis']")
    await expect(page.get_by_role("status")).to_contain_text("Attached Redis")
    await expect(card).to_contain_text(f"mcphost:{hosted.server['slug']}:")
    await expect(card).to_contain_text("REDIS_KEY_PREFIX, REDIS_URL")
    assert "redis://" not in await page.content()  # the URL (with its password) is never shown

    page.on("dialog", lambda dialog: dialog.accept())
    await card.get_by_label("to detach").fill("not-the-slug")
    await card.get_by_role("button", name="Detach Redis").click()
    await expect(page.locator("#flash")).to_contain_text("Confirm with the server's slug")
    await card.get_by_label("to detach").fill(hosted.server["slug"])
    await card.get_by_role("button", name="Detach Redis").click()
    await expect(page.get_by_role("status")).to_contain_text("Detached Redis")
    await expect(page.get_by_text("No service attached.")).to_be_visible()
    with console.api(hosted.token) as api:
        assert api.get(f"/api/servers/{hosted.id}/services").json() == []
