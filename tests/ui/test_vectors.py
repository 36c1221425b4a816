"""The Vector databases pages: a user creates a database in the console, sees it start (the page turns to running by
itself), creates a collection, uploads a document (the job's progress updates until it succeeds), searches it, finds
it with its usage in the list, and deletes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.ui.browser import sign_in
from tests.ui.live import Console, running_console, unique_email


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The console, its Chroma servers run as processes, picked up by the supervisor within 0.2 s."""
    settings = {"MCPHOST_VECTORS__RUNTIME": "process", "MCPHOST_VECTORS__CHECK_INTERVAL_SECONDS": "0.2"}
    with running_console(tmp_path_factory.mktemp("console"), **settings) as running:
        yield running


async def test_create_fill_search_and_delete(page: Page, console: Console, tmp_path: Path) -> None:
    email = unique_email("vectors")
    console.register(email)
    await sign_in(page, email)
    await page.get_by_role("link", name="Vector databases").first.click()
    await expect(page.get_by_role("heading", name="Vector databases", level=1)).to_be_visible()
    await expect(page.get_by_text("No vector databases yet")).to_be_visible()

    await page.get_by_label("Name").fill("Handbook")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Handbook")
    await expect(page.locator("#db-status")).to_have_text("running")  # no reload: the page follows its start

    name = page.get_by_label("New collection")
    await name.fill("my guides")  # Chroma's rule for names, checked by the browser before anything is sent
    assert await name.evaluate("input => input.validity.patternMismatch")
    await name.fill("guides")
    await page.get_by_role("button", name="Create collection").click()
    await expect(page.locator("#collections")).to_contain_text("guides: 0 vectors")

    document = tmp_path / "sourdough.md"
    document.write_text("# Sourdough\n\nFeed the starter, let the dough rise overnight and bake it in a hot oven.")
    await page.get_by_label("Files (plain text, Markdown, HTML, PDF)").set_input_files(document)
    await page.get_by_role("button", name="Ingest").click()
    jobs = page.locator("#ingestion-jobs")
    await expect(jobs).to_contain_text("succeeded")  # refreshed while the job runs
    await expect(jobs).to_contain_text("1 of 1 documents, 1 chunks")

    await page.reload()
    await expect(page.locator("#collections")).to_contain_text("guides: 1 vectors")
    await page.get_by_label("Query").fill("baking bread")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#hits li").first).to_contain_text("upload/sourdough.md")

    await page.get_by_role("link", name="Vector databases").first.click()
    row = page.locator("#vector-dbs tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Handbook")
    await expect(row).to_contain_text("running")
    await expect(row.locator("td").nth(3)).to_have_text("1")  # vectors

    await row.get_by_role("link", name="Handbook").click()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Delete this vector database").click()
    await page.wait_for_url("**/vectors")
    await expect(page.get_by_text("No vector databases yet")).to_be_visible()
