"""Sign-up: who becomes admin, what is refused and how."""

from __future__ import annotations

import httpx
import pytest

from mcphost.settings import Settings
from tests.support.accounts import PASSWORD, assert_error, sign_in, sign_up
from tests.support.apps import adjusted, app_client


async def test_first_user_becomes_admin_and_later_users_do_not(client: httpx.AsyncClient) -> None:
    first = await client.post("/api/auth/register", json={"email": "Ada@Example.com", "password": PASSWORD})
    second = await client.post("/api/auth/register", json={"email": "bob@example.com", "password": PASSWORD})

    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["email"] == "ada@example.com"
    assert "sign in" in first.json()["message"]
    assert "password" not in first.text.replace("the password you chose", "").replace("account's password", "")
    assert "hash" not in first.text
    ada, bob = await sign_in(client, "ada@example.com"), await sign_in(client, "bob@example.com")
    assert (await client.get("/api/me", headers=ada.headers)).json()["role"] == "admin"
    assert (await client.get("/api/me", headers=bob.headers)).json()["role"] == "user"


async def test_a_taken_email_is_answered_like_a_free_one_and_its_account_is_unchanged(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, "ada@example.com")

    again = await client.post(
        "/api/auth/register", json={"email": "ADA@example.com", "password": "another " + PASSWORD}
    )
    free = await client.post("/api/auth/register", json={"email": "eve@example.com", "password": "another " + PASSWORD})

    assert again.status_code == free.status_code == 201
    assert again.json() | {"email": None} == free.json() | {"email": None}
    assert again.json()["email"] == "ada@example.com"
    await sign_in(client, "ada@example.com")  # the original password still signs in
    hijack = await client.post("/api/auth/login", json={"email": "ada@example.com", "password": "another " + PASSWORD})
    assert_error(hijack, 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("short1!", "at least 10 characters"),
        ("password123", "too easy to guess"),
        ("aaaaaaaaaaaa", "too easy"),
        ("Password123!", "commonly used password"),
        ("qwertyuiop1", "too easy to guess"),
        ("hunter2hunter2", "Repeats"),
    ],
)
async def test_weak_password_is_refused_with_the_reason(
    client: httpx.AsyncClient, password: str, complaint: str
) -> None:
    response = await client.post("/api/auth/register", json={"email": "ada@example.com", "password": password})

    error = assert_error(response, 422, "weak_password")
    assert complaint in str(error["message"])
    assert error["details"][0]["loc"] == ["body", "password"]  # type: ignore[index]


async def test_password_containing_the_email_name_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": "margaret@example.com", "password": "margaret-2024!"}
    )

    assert "email address" in str(assert_error(response, 422, "weak_password")["message"])


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com", ""])
async def test_malformed_email_is_a_validation_error_that_names_the_field(
    client: httpx.AsyncClient, email: str
) -> None:
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})

    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["loc"] == ["body", "email"]  # type: ignore[index]


async def test_validation_errors_never_echo_the_submitted_password(client: httpx.AsyncClient) -> None:
    secret = "my-secret-passphrase-" + "x" * 300

    response = await client.post("/api/auth/register", json={"email": "bad", "password": secret})

    assert_error(response, 422, "validation_error")
    assert "my-secret-passphrase" not in response.text


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": "ada@example.com", "password": PASSWORD, "role": "admin"}
    )

    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["loc"] == ["body", "role"]  # type: ignore[index]


async def test_closed_signup_still_lets_the_first_user_in_but_nobody_else(settings: Settings) -> None:
    async with app_client(adjusted(settings, auth={"allow_signup": False})) as client:
        first = await client.post("/api/auth/register", json={"email": "ada@example.com", "password": PASSWORD})
        second = await client.post("/api/auth/register", json={"email": "eve@example.com", "password": PASSWORD})

    assert first.status_code == 201
    assert_error(second, 403, "signup_disabled")
