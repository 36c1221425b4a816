"""Organisations in the console: create one, invite people (members at once, or pending invitations), change
roles, remove and withdraw, and what members without the admin role may not do."""

from __future__ import annotations

from playwright.async_api import Browser, Dialog, Page, expect

from tests.ui.browser import ConsoleWatch, sign_in, sign_up
from tests.ui.live import Console, unique_email
from tests.ui.session_http import signed_in


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def _create_org(page: Page, name: str) -> str:
    await page.goto("/orgs")
    await page.get_by_label("Name").fill(name)
    await page.get_by_role("button", name="Create organisation").click()
    await expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    return page.url.rsplit("/", 1)[-1]


async def test_an_owner_invites_people_and_changes_a_role_and_the_member_sees_the_org(
    page: Page, browser: Browser, console: Console, console_watch: ConsoleWatch
) -> None:
    owner, member, newcomer = unique_email("owner"), unique_email("member"), unique_email("newcomer")
    console.register(member)
    await sign_up(page, owner)
    await _create_org(page, "Platform team")
    members = page.get_by_role("table", name="Members of Platform team")
    await expect(members.get_by_role("row", name=owner)).to_contain_text("owner")

    await page.get_by_label("Email").fill(member)
    await page.get_by_label("Role", exact=True).select_option("member")
    await page.get_by_role("button", name="Invite").click()
    await expect(page.get_by_role("alert")).to_contain_text(f"{member} is now a member")
    await expect(members.get_by_role("row", name=member)).to_be_visible()

    await page.get_by_label("Email").fill(newcomer)
    await page.get_by_label("Role", exact=True).select_option("viewer")
    await page.get_by_role("button", name="Invite").click()
    await expect(page.get_by_role("alert")).to_contain_text(f"{newcomer} has no account yet")
    pending = page.get_by_role("table", name="Pending invitations")
    await expect(pending.get_by_role("row", name=newcomer)).to_contain_text("viewer")

    await page.get_by_label(f"Role of {member}", exact=True).select_option("admin")
    await page.get_by_role("button", name=f"Save the role of {member}").click()
    await expect(page.get_by_role("alert")).to_contain_text(f"{member} is now admin")
    await expect(page.get_by_label(f"Role of {member}", exact=True)).to_have_value("admin")

    other = await browser.new_context(base_url=console.url)
    try:
        member_page = await other.new_page()
        console_watch.attach(member_page)
        await sign_in(member_page, member)
        await member_page.goto("/orgs")
        row = member_page.get_by_role("row", name="Platform team")
        await expect(row).to_contain_text("admin")
        await expect(row.get_by_role("cell").nth(2)).to_have_text("2")
    finally:
        await other.close()


async def test_withdraw_an_invitation_remove_a_member_rename_and_delete(page: Page, console: Console) -> None:
    page.on("dialog", _accept)
    member, newcomer = unique_email("removed"), unique_email("withdrawn")
    console.register(member)
    await sign_up(page, unique_email("owner"))
    org_id = await _create_org(page, "Short lived")
    for email in (member, newcomer):
        await page.get_by_label("Email").fill(email)
        await page.get_by_role("button", name="Invite").click()
        await expect(page.get_by_role("alert")).to_contain_text(email)

    await page.get_by_role("button", name=f"Withdraw the invitation of {newcomer}").click()
    await expect(page.get_by_role("alert")).to_contain_text("invitation was withdrawn")
    await expect(page.get_by_text("No pending invitations.")).to_be_visible()

    await page.get_by_role("button", name=f"Remove {member}").click()
    await expect(page.get_by_role("alert")).to_contain_text("member was removed")
    await expect(page.get_by_role("row", name=member)).to_have_count(0)

    await page.get_by_label("New name").fill("Renamed team")
    await page.get_by_role("button", name="Rename").click()
    await expect(page.get_by_role("heading", level=1, name="Renamed team")).to_be_visible()

    await page.get_by_role("button", name="Delete organisation").click()
    await page.wait_for_url("**/orgs")
    await expect(page.get_by_role("link", name="Renamed team")).to_have_count(0)
    with signed_in(console, console.admin_token) as http:
        assert http.get(f"/orgs/{org_id}").status_code == 404


async def test_an_org_member_who_is_not_admin_sees_no_management(
    page: Page, console: Console, console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(403)
    owner_token = console.register(unique_email("owner"))
    viewer = unique_email("viewer")
    with signed_in(console, owner_token) as http:
        created = http.post("/orgs", data={"name": "Readers"})
        org_id = created.headers["HX-Redirect"].rsplit("/", 1)[-1]
        assert http.post(f"/orgs/{org_id}/members", data={"email": viewer, "role": "viewer"}).status_code == 200
    await sign_up(page, viewer)
    await page.goto("/orgs")
    await page.get_by_role("link", name="Readers").click()
    await expect(page.get_by_role("table", name="Members of Readers").get_by_role("row", name=viewer)).to_be_visible()
    await expect(page.get_by_role("button", name="Invite")).to_have_count(0)
    await expect(page.get_by_role("button", name="Delete organisation")).to_have_count(0)
    await expect(page.get_by_role("button", name="Leave organisation")).to_be_visible()


def test_form_input_is_checked_with_a_message_naming_the_field(console: Console) -> None:
    with signed_in(console, console.register(unique_email("forms"))) as http:
        empty = http.post("/orgs", data={"name": "   "})
        assert empty.status_code == 422
        assert "Name:" in empty.text
        org_id = http.post("/orgs", data={"name": "Checks"}).headers["HX-Redirect"].rsplit("/", 1)[-1]
        bad_email = http.post(f"/orgs/{org_id}/members", data={"email": "not-an-email", "role": "member"})
        assert bad_email.status_code == 422
        assert "Email:" in bad_email.text and "valid email" in bad_email.text
        assert bad_email.headers["HX-Retarget"] == "#flash"
        bad_role = http.post(f"/orgs/{org_id}/members", data={"email": "x@example.com", "role": "emperor"})
        assert bad_role.status_code == 422
        assert "Role:" in bad_role.text and "viewer" in bad_role.text


def test_someone_else_s_org_is_not_found_and_changes_need_the_csrf_token(console: Console) -> None:
    with signed_in(console, console.register(unique_email("a"))) as http:
        org_id = http.post("/orgs", data={"name": "Private"}).headers["HX-Redirect"].rsplit("/", 1)[-1]
        no_token = http.post(f"/orgs/{org_id}/rename", data={"name": "x"}, headers={"X-CSRF-Token": ""})
        assert no_token.status_code == 403
    with signed_in(console, console.register(unique_email("b"))) as http:
        assert http.get(f"/orgs/{org_id}").status_code == 404
        assert http.post(f"/orgs/{org_id}/rename", data={"name": "Mine now"}).status_code == 404
