"""Account protection: password spraying from one address is throttled across emails (without locking out people who
share an address and mistype their own password), registering does not tell who has an account even with sign-up
off, names are trimmed before their length is checked everywhere names are taken, and tokens get one default
lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.servers.hosting import PACKAGE
from tests.support.accounts import PASSWORD, Account, assert_error, sign_in, sign_up
from tests.support.apps import adjusted, app_client

SPRAYED = "Summer2024!"  # what a spray tries: one common password on many accounts


@asynccontextmanager
async def from_address(app: FastAPI, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _login(client: httpx.AsyncClient, email: str, password: str) -> int:
    return (await client.post("/api/auth/login", json={"email": email, "password": password})).status_code


async def test_spraying_twenty_accounts_from_one_address_is_stopped_after_ten(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    emails = [f"user{index}@example.com" for index in range(20)]
    for email in emails:
        await sign_up(client, email)

    async with from_address(app, "198.51.100.66") as attacker:
        statuses = [await _login(attacker, email, SPRAYED) for email in emails]
        refused = await attacker.post("/api/auth/login", json={"email": emails[15], "password": PASSWORD})
    async with from_address(app, "198.51.100.7") as elsewhere:
        from_elsewhere = await _login(elsewhere, emails[15], PASSWORD)

    assert statuses == [401] * 10 + [429] * 10
    error = assert_error(refused, 429, "rate_limited")
    assert "different accounts from your address" in str(error["message"])
    assert int(refused.headers["retry-after"]) > 0
    assert from_elsewhere == 200


async def test_people_behind_one_address_who_mistype_their_own_password_are_not_locked_out(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    emails = [f"colleague{index}@example.com" for index in range(12)]
    for email in emails:
        await sign_up(client, email)

    async with from_address(app, "192.0.2.1") as office:
        # Nine people mistype their password, several times each, then get it right.
        for email in emails[:9]:
            for _ in range(3):
                assert await _login(office, email, "wrong " + PASSWORD) == 401
        signed_in = [await _login(office, email, PASSWORD) for email in emails]

    assert signed_in == [200] * 12


async def test_with_sign_up_off_a_taken_email_gets_the_same_refusal_as_a_free_one(settings: Settings) -> None:
    async with app_client(adjusted(settings, auth={"allow_signup": False})) as client:
        await sign_up(client, "admin@example.com")
        taken = await client.post("/api/auth/register", json={"email": "admin@example.com", "password": PASSWORD})
        free = await client.post("/api/auth/register", json={"email": "eve@example.com", "password": PASSWORD})

    assert taken.status_code == free.status_code == 403
    assert taken.json() == free.json()


@pytest.mark.parametrize("padding", [" ", "\t", "\u200b", "\ufeff", "\u3164"])
async def test_names_are_trimmed_before_their_length_is_checked(client: httpx.AsyncClient, padding: str) -> None:
    owner = await sign_up(client, "owner@example.com")
    name = "n" * 100
    padded, too_long, empty = padding * 3 + name + padding * 3, padding + "n" * 101, padding * 5

    results = {}
    for kind, post in _name_takers(client, owner).items():
        results[kind] = [await post(value) for value in (padded, too_long, empty)]

    for kind, (accepted, refused_long, refused_empty) in results.items():
        assert accepted.status_code == 201, (kind, accepted.text)
        assert accepted.json()["name"] == name, kind
        assert_error(refused_long, 422, "validation_error")
        assert_error(refused_empty, 422, "validation_error")


def _name_takers(client: httpx.AsyncClient, owner: Account) -> dict[str, Callable[[str], Awaitable[httpx.Response]]]:
    """Every endpoint that takes a name: servers, organisations, personal tokens and access keys."""
    keyed: list[str] = []

    async def server(name: str) -> httpx.Response:
        body = {"name": name, "source": PACKAGE, "start": False}
        return await client.post("/api/servers", json=body, headers=owner.headers)

    async def org(name: str) -> httpx.Response:
        return await client.post("/api/orgs", json={"name": name}, headers=owner.headers)

    async def token(name: str) -> httpx.Response:
        return await client.post("/api/tokens", json={"name": name, "scopes": ["read"]}, headers=owner.headers)

    async def key(name: str) -> httpx.Response:
        if not keyed:
            keyed.append((await server("keyed")).json()["id"])
        return await client.post(f"/api/servers/{keyed[0]}/keys", json={"name": name}, headers=owner.headers)

    return {"server": server, "org": org, "token": token, "key": key}


async def test_a_token_created_without_a_lifetime_gets_the_instance_default(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    owner = await sign_up(client, "owner@example.com")

    default = await client.post("/api/tokens", json={"name": "ci", "scopes": ["read"]}, headers=owner.headers)
    never = await client.post(
        "/api/tokens", json={"name": "ci", "scopes": ["read"], "expires_in_days": None}, headers=owner.headers
    )

    assert default.status_code == 201
    lifetime = datetime.fromisoformat(default.json()["expires_at"]) - datetime.fromisoformat(
        default.json()["created_at"]
    )
    assert timedelta(days=89) < lifetime <= timedelta(days=90)
    error = assert_error(never, 422, "token_expiry_required")
    assert "never expire are turned off" in str(error["message"]) and "default of 90 days" in str(error["message"])

    allowing = adjusted(settings, auth={"allow_non_expiring_tokens": True, "default_token_days": 30})
    async with app_client(allowing) as other:
        someone = await sign_in(other, "owner@example.com")
        never_again = await other.post(
            "/api/tokens", json={"name": "x", "scopes": ["read"], "expires_in_days": None}, headers=someone.headers
        )
        thirty = await other.post("/api/tokens", json={"name": "y", "scopes": ["read"]}, headers=someone.headers)
    assert never_again.status_code == 201 and never_again.json()["expires_at"] is None
    made = datetime.fromisoformat(thirty.json()["created_at"])
    assert datetime.fromisoformat(thirty.json()["expires_at"]) - made <= timedelta(days=30)
