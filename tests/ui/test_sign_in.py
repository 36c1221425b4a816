"""Signing up, in and out through the console, and what protects those forms."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.ui.browser import ConsoleWatch, sign_in, sign_up
from tests.ui.live import ADMIN_EMAIL, PASSWORD, Console, unique_email
from tests.ui.session_http import csrf_token_of


async def test_a_wrong_password_shows_an_error_and_keeps_the_email(page: Page, console_watch: ConsoleWatch) -> None:
    console_watch.expect_status(401)
    await page.goto("/login")
    await page.get_by_label("Email").fill(ADMIN_EMAIL)
    await page.get_by_label("Password").fill("not the password at all")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("paragraph").filter(has_text="Wrong email or password")).to_be_visible()
    await expect(page.get_by_label("Email")).to_have_value(ADMIN_EMAIL)
    await expect(page.get_by_label("Password")).to_have_value("")
    assert page.url.endswith("/login")


async def test_sign_up_lands_on_the_dashboard_signed_in_and_sign_out_ends_it(page: Page) -> None:
    email = unique_email("signup")
    await sign_up(page, email)
    await expect(page.get_by_role("link", name=email)).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/login")
    await page.goto("/dashboard")
    await page.wait_for_url("**/login?next=/dashboard")
    await sign_in(page, email)
    await expect(page.get_by_role("link", name=email)).to_be_visible()


async def test_a_too_short_password_is_refused_with_what_to_fix(page: Page, console_watch: ConsoleWatch) -> None:
    console_watch.expect_status(422)
    await page.goto("/signup")
    await page.get_by_label("Email").fill(unique_email("short"))
    await page.get_by_label("Password").evaluate("el => el.removeAttribute('minlength')")
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator(".alert-error")).to_contain_text("characters")


async def test_a_page_that_needs_sign_in_returns_there_afterwards(page: Page, console: Console) -> None:
    await page.goto("/profile")
    await page.wait_for_url("**/login?next=/profile")
    await page.get_by_label("Email").fill(ADMIN_EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/profile")


def test_a_form_post_without_the_csrf_token_is_refused(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as http:
        http.get("/login")  # the browser's CSRF cookie
        refused = http.post(
            "/login", data={"email": ADMIN_EMAIL, "password": PASSWORD}, headers={"Accept": "text/html"}
        )
        assert refused.status_code == 403
        assert "reload the page" in refused.text
        assert "mcphost_session" not in refused.cookies


def test_a_post_from_another_site_is_refused_even_with_a_token(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as http:
        page = http.get("/login").text
        token = csrf_token_of(page)
        refused = http.post(
            "/login",
            data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token},
            headers={"Origin": "https://evil.example"},
        )
        assert refused.status_code == 403
        accepted = http.post("/login", data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token})
        assert accepted.status_code == 303
        assert accepted.headers["location"] == "/dashboard"
        assert "mcphost_session" in http.cookies


def test_an_offsite_next_address_is_not_followed(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as http:
        page = http.get("/login").text
        token = csrf_token_of(page)
        answer = http.post(
            "/login",
            data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        )
        assert answer.headers["location"] == "/dashboard"
