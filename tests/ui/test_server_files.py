"""The Files tab: an owner uploads a file with the browser (progress, then it is listed with its checksum), opens a
directory, downloads the file, and deletes it after confirming."""

from __future__ import annotations

import hashlib
from pathlib import Path

from playwright.async_api import Page, expect

from tests.ui.live import Console
from tests.ui.observe import hosted_server, open_tab


async def test_an_owner_uploads_downloads_and_deletes_a_file(page: Page, console: Console, tmp_path: Path) -> None:
    hosted = hosted_server(console, "files")
    with console.api(hosted.token) as api:
        assert api.put(f"/api/servers/{hosted.id}/files/docs/old.txt", content=b"old").status_code == 201
    local = tmp_path / "notes.txt"
    local.write_bytes(b"notes for the server\n" * 1000)
    await open_tab(page, hosted, "files")
    await expect(page.get_by_role("link", name="docs/")).to_be_visible()

    await page.get_by_role("link", name="docs/").click()
    await expect(page.get_by_role("link", name="old.txt")).to_be_visible()
    await page.get_by_label("Upload to /data/docs").set_input_files(str(local))
    await page.get_by_role("button", name="Upload", exact=True).click()
    await expect(page.locator("#file-upload-status")).to_contain_text("Uploaded notes.txt")
    row = page.locator("tr[data-file='docs/notes.txt']")
    await expect(row).to_contain_text(hashlib.sha256(local.read_bytes()).hexdigest()[:12])

    async with page.expect_download() as info:
        await row.get_by_role("link", name="notes.txt").click()
    download = await info.value
    assert Path(await download.path()).read_bytes() == local.read_bytes()

    page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Delete notes.txt").click()
    await expect(page.get_by_role("status").first).to_contain_text("Deleted file /data/docs/notes.txt")
    await expect(page.locator("tr[data-file='docs/notes.txt']")).to_have_count(0)
    with console.api(hosted.token) as api:
        names = [entry["name"] for entry in api.get(f"/api/servers/{hosted.id}/files/docs").json()["entries"]]
    assert names == ["old.txt"]
