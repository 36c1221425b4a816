"""The profile (account facts, personal access tokens shown once and revocable) and the administrators' page
(users: search, role, quota, disable; jobs: filter, retry, cancel)."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, Dialog, Page, expect

from tests.support.waiting import until
from tests.ui.browser import ConsoleWatch, sign_in, sign_up
from tests.ui.live import ADMIN_EMAIL, Console, unique_email
from tests.ui.session_http import signed_in

PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "fake-server"}


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


def _me(console: Console, token: str) -> httpx.Response:
    with console.api(token) as api:
        return api.get("/api/me")


async def test_a_token_made_on_the_profile_works_until_it_is_revoked(page: Page, console: Console) -> None:
    page.on("dialog", _accept)
    email = unique_email("tokens")
    await sign_up(page, email)
    await page.goto("/profile")
    await expect(page.get_by_text("You have no active tokens.")).to_be_visible()
    await page.get_by_label("Name").fill("laptop CLI")
    await page.get_by_label("invoke").check()
    await page.get_by_label("Expires").select_option("30")
    await page.get_by_role("button", name="Create token").click()
    secret = await page.get_by_label("New token").input_value()
    assert secret.startswith("mcph_")
    await expect(page.get_by_role("button", name="Copy", exact=True)).to_be_visible()
    row = page.get_by_role("row", name="laptop CLI")
    await expect(row).to_contain_text("read")
    await expect(row).to_contain_text("invoke")
    assert _me(console, secret).json()["email"] == email

    await page.reload()
    await expect(page.get_by_label("New token")).to_have_count(0)
    assert secret not in await page.content()
    await page.get_by_role("button", name="Revoke laptop CLI").click()
    await expect(page.get_by_role("alert")).to_contain_text("revoked")
    await expect(page.get_by_role("row", name="laptop CLI")).to_have_count(0)
    refused = _me(console, secret)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]


async def test_the_profile_shows_role_quota_use_and_organisations(page: Page, console: Console) -> None:
    email = unique_email("profile")
    token = console.register(email)
    with console.api(token) as api:
        assert api.post("/api/servers", json={"name": "mine", "source": PACKAGE}).status_code == 201
        assert api.post("/api/orgs", json={"name": "Profile crew"}).status_code == 201
    await sign_in(page, email)
    await page.goto("/profile")
    await expect(page.get_by_role("definition").filter(has_text=email)).to_be_visible()
    await expect(page.get_by_text("1 of 5 in your quota")).to_be_visible()
    await expect(page.get_by_role("link", name="Profile crew")).to_be_visible()
    await expect(page.get_by_label("admin", exact=True)).to_have_count(0)


def test_token_form_mistakes_are_explained(console: Console) -> None:
    with signed_in(console, console.register(unique_email("badtoken"))) as http:
        no_scope = http.post("/profile/tokens", data={"name": "x", "expires_in_days": "30"})
        assert no_scope.status_code == 422 and "Scopes:" in no_scope.text
        too_long = http.post("/profile/tokens", data={"name": "x", "scopes": ["read"], "expires_in_days": "9999"})
        assert too_long.status_code == 422 and "Expires:" in too_long.text
        admin_scope = http.post("/profile/tokens", data={"name": "x", "scopes": ["admin"], "expires_in_days": "7"})
        assert admin_scope.status_code == 403 and "administrators" in admin_scope.text


async def test_an_administrator_disables_a_user_who_then_cannot_sign_in(
    page: Page, browser: Browser, console: Console, console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(403)
    page.on("dialog", _accept)
    email = unique_email("disabled")
    console.register(email)
    await sign_in(page, ADMIN_EMAIL)
    await page.get_by_role("link", name="Admin", exact=True).click()
    await page.get_by_label("Search users by email").fill(email)
    await page.get_by_role("button", name="Search").click()
    row = page.get_by_role("row", name=email)
    await expect(row).to_contain_text("active")

    await page.get_by_label(f"Server quota of {email}").fill("7")
    await page.get_by_label(f"Role of {email}").select_option("user")
    await page.get_by_role("button", name=f"Save the role and quota of {email}").click()
    await expect(page.get_by_role("alert")).to_contain_text(f"{email}: user, quota 7, active")

    await page.get_by_role("button", name=f"Disable {email}").click()
    await expect(row).to_contain_text("disabled")
    await expect(page.get_by_role("button", name=f"Enable {email}")).to_be_visible()

    other = await browser.new_context(base_url=console.url)
    try:
        user_page = await other.new_page()
        console_watch.attach(user_page)
        await user_page.goto("/login")
        await user_page.get_by_label("Email").fill(email)
        await user_page.get_by_label("Password").fill("a long passphrase for browser tests")
        await user_page.get_by_role("button", name="Sign in").click()
        await expect(user_page.locator(".alert-error")).to_contain_text("This account is disabled")
        assert user_page.url.endswith("/login")
    finally:
        await other.close()

    await page.get_by_role("button", name=f"Enable {email}").click()
    await expect(row).to_contain_text("active")


async def test_someone_who_is_not_an_administrator_gets_403_on_admin(
    page: Page, console: Console, console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(403)
    await sign_up(page, unique_email("notadmin"))
    await expect(page.get_by_role("link", name="Admin", exact=True)).to_have_count(0)
    answer = await page.goto("/admin")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(page.get_by_text("Only administrators can open this page.")).to_be_visible()
    with console.api() as api:
        some_user = api.get("/api/users?limit=1").json()["items"][0]["id"]
    with signed_in(console, console.register(unique_email("notadmin"))) as http:
        assert http.post(f"/admin/users/{some_user}/disable").status_code == 403


async def test_an_administrator_filters_jobs_by_status(page: Page, console: Console) -> None:
    with console.api(console.register(unique_email("jobs"))) as api:
        server = api.post("/api/servers", json={"name": "jobs", "source": PACKAGE}).json()
        until(lambda: api.get(f"/api/servers/{server['id']}").json()["status"] == "running", "running server")
    await sign_in(page, ADMIN_EMAIL)
    await page.goto("/admin")
    await page.get_by_label("Status").select_option("succeeded")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/admin?status=succeeded")
    jobs = page.get_by_role("table", name="Jobs that are succeeded, newest first")
    await expect(jobs.get_by_role("row").nth(1)).to_contain_text("succeeded")
    await expect(jobs.get_by_role("button")).to_have_count(0)

    with console.api() as api:
        job = api.get("/api/jobs?status=succeeded&limit=1").json()["items"][0]
    with signed_in(console, console.admin_token) as http:
        refused = http.post(f"/admin/jobs/{job['id']}/retry")
        assert refused.status_code == 409 and "Only dead or cancelled jobs" in refused.text
        bad_status = http.get("/admin?status=sleeping")
        assert bad_status.status_code == 422 and "Job status:" in bad_status.text


async def test_profile_organisations_and_admin_fit_a_phone_screen(page: Page, console: Console) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page, ADMIN_EMAIL)
    with console.api() as api:
        org = api.post("/api/orgs", json={"name": "Phone check"}).json()
    for path, heading in (
        ("/profile", "Your profile"),
        ("/orgs", "Organisations"),
        (f"/orgs/{org['id']}", "Phone check"),
        ("/admin", "Administration"),
    ):
        await page.goto(path)
        await expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"


def test_without_javascript_a_new_token_is_shown_once_on_an_uncached_page(console: Console) -> None:
    with signed_in(console, console.register(unique_email("nojs"))) as http:
        csrf = http.headers.pop("X-CSRF-Token")
        del http.headers["HX-Request"]
        page = http.post("/profile/tokens", data={"name": "plain", "scopes": ["read"], "csrf_token": csrf})
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        secret = page.text.split('id="new-token"')[1].split('value="')[1].split('"')[0]
        assert _me(console, secret).status_code == 200
        assert secret not in http.get("/profile").text
