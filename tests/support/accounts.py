"""Creating users and signing in through the API, as a client would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    id: uuid.UUID
    email: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}


async def sign_up(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Account:
    registered = await client.post("/api/auth/register", json={"email": email, "password": password})
    assert registered.status_code == 201, registered.text
    return await sign_in(client, email, password)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Account:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    return Account(id=uuid.UUID(me.json()["id"]), email=email, token=response.json()["access_token"])


async def create_token(client: httpx.AsyncClient, owner: Account, *scopes: str, **extra: object) -> str:
    response = await client.post(
        "/api/tokens",
        json={"name": f"test {' '.join(scopes)}", "scopes": list(scopes), **extra},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    """The response has the status and the one error shape every endpoint uses."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return dict(body["error"])
