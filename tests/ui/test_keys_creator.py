"""The console's side of who may use a server and of deleting owners: the keys tab names each key's creator and
marks keys whose creator lost access, viewers get no "try it", an organisation with servers is deleted only with the
box ticked, sign-up with a taken email does not say the account exists yet still lets the owner in, and a token's
lifetime defaults to the instance's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from playwright.async_api import Dialog, Page, expect

from tests.support.waiting import until
from tests.ui.browser import ConsoleWatch, sign_in, sign_up
from tests.ui.live import PASSWORD, Console, unique_email
from tests.ui.observe import PACKAGE
from tests.ui.session_http import signed_in


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


def _org_with_server(console: Console, owner_token: str, member_email: str, role: str) -> dict[str, Any]:
    with console.api(owner_token) as api:
        org = api.post("/api/orgs", json={"name": f"Team of {member_email}"}).json()
        added = api.post(f"/api/orgs/{org['id']}/members", json={"email": member_email, "role": role})
        assert added.status_code == 201, added.text
        server = api.post("/api/servers", json={"name": "shared", "org_id": org["id"], "source": PACKAGE}).json()
        until(lambda: api.get(f"/api/servers/{server['id']}").json()["status"] == "running", "running server")
    return dict(server)


async def test_the_keys_tab_names_each_keys_creator_and_marks_keys_whose_creator_lost_access(
    page: Page, console: Console
) -> None:
    owner_email, member_email = unique_email("keys-owner"), unique_email("keys-member")
    owner, member = console.register(owner_email), console.register(member_email)
    server = _org_with_server(console, owner, member_email, "member")
    with console.api(member) as api:
        assert api.post(f"/api/servers/{server['id']}/keys", json={"name": "member laptop"}).status_code == 201

    await sign_in(page, owner_email)
    await page.goto(f"/servers/{server['id']}/keys")
    table = page.get_by_role("table")
    await expect(table.get_by_role("columnheader", name="Created by")).to_be_visible()
    await expect(table.get_by_role("row", name="member laptop")).to_contain_text(member_email)
    await expect(table.get_by_role("row", name="default")).to_contain_text(owner_email)

    with console.api(owner) as api:
        removed = api.delete(f"/api/orgs/{server['org_id']}/members/{_user_id(console, member)}")
        assert removed.status_code == 204
    await page.reload()
    await expect(table.get_by_role("row", name="member laptop")).to_contain_text("its creator lost access")
    await expect(table.get_by_role("row", name="default")).to_contain_text("active")


def _user_id(console: Console, token: str) -> str:
    with console.api(token) as api:
        return str(api.get("/api/me").json()["id"])


async def test_viewers_get_no_try_it_and_their_calls_are_refused(page: Page, console: Console) -> None:
    viewer_email = unique_email("viewer")
    owner, viewer = console.register(unique_email("tools-owner")), console.register(viewer_email)
    server = _org_with_server(console, owner, viewer_email, "viewer")

    await sign_in(page, viewer_email)
    await page.goto(f"/servers/{server['id']}/tools")

    await expect(page.get_by_role("heading", name="echo")).to_be_visible()
    await expect(page.get_by_text("Try it")).to_have_count(0)
    await expect(page.get_by_text("Trying tools needs the member role").first).to_be_visible()
    with signed_in(console, viewer) as http:
        called = http.post(f"/servers/{server['id']}/tools/call", data={"tool": "echo", "text": "hi"})
    assert called.status_code == 403 and "member role" in called.text


async def test_an_org_with_servers_is_deleted_from_the_console_only_with_the_box_ticked(
    page: Page, console: Console, console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(409)
    page.on("dialog", _accept)
    owner_email = unique_email("org-deleter")
    owner = console.register(owner_email)
    server = _org_with_server(console, owner, unique_email("bystander"), "member")
    await sign_in(page, owner_email)
    await page.goto(f"/orgs/{server['org_id']}")
    await expect(page.get_by_text("It has 1 server.")).to_be_visible()

    await page.get_by_role("button", name="Delete organisation").click()
    await expect(page.locator("#flash")).to_contain_text("still has 1 server, so it was not deleted")
    with console.api(owner) as api:
        assert api.get(f"/api/servers/{server['id']}").status_code == 200

    await page.get_by_label("Also stop and delete its servers").check()
    await page.get_by_role("button", name="Delete organisation").click()
    await page.wait_for_url("**/orgs")
    with console.api(owner) as api:
        assert api.get(f"/api/orgs/{server['org_id']}").status_code == 404
        assert api.get(f"/api/servers/{server['id']}").status_code == 404


async def test_signing_up_with_a_taken_email_does_not_say_it_exists(
    page: Page, console: Console, console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(401)
    email = unique_email("taken")
    console.register(email)

    await page.goto("/signup")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("a different passphrase entirely")
    await page.get_by_role("button", name="Create account").click()

    alert = page.locator("#form-error")
    await expect(alert).to_contain_text("could not be signed in with this email and password")
    await expect(alert).not_to_contain_text("exists")
    # The owner, signing up again with their own password, simply lands signed in.
    await sign_up(page, email, PASSWORD)
    await expect(page).to_have_url(f"{console.url}/dashboard")


async def test_the_token_form_defaults_to_the_instances_lifetime_and_offers_no_never(
    page: Page, console: Console
) -> None:
    email = unique_email("tokens")
    token = console.register(email)
    await sign_in(page, email)
    await page.goto("/profile")

    expiry = page.get_by_label("Expires")
    await expect(expiry).to_have_value("90")
    await expect(expiry.locator("option[value=never]")).to_have_count(0)
    await page.get_by_label("Name").fill("laptop")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.get_by_role("row", name="laptop")).to_be_visible()

    with console.api(token) as api:
        [made] = api.get("/api/tokens").json()
    lifetime = datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(made["created_at"])
    assert timedelta(days=89) < lifetime <= timedelta(days=90)


def test_the_admin_pages_delete_button_takes_the_accounts_servers_along(console: Console) -> None:
    email = unique_email("deleted")
    token = console.register(email)
    with console.api(token) as api:
        me = api.get("/api/me").json()
        server = api.post("/api/servers", json={"name": "orphan", "source": PACKAGE, "start": False}).json()

    with signed_in(console, console.admin_token) as http:
        page = http.get("/admin", params={"q": email}).text
        deleted = http.post(f"/admin/users/{me['id']}/delete")

    assert f"Delete {email}" in page and "servers it owns are stopped and deleted with it" in page
    assert deleted.status_code == 200
    assert "and its 1 server deleted" in deleted.headers["HX-Trigger"]
    with console.api() as api:
        assert api.get(f"/api/users/{me['id']}").status_code == 404
        assert api.get(f"/api/servers/{server['id']}").status_code == 404
