"""Server tests run on the fake runtime (the process runtime has its own tests): an admin and a user."""

from __future__ import annotations

import httpx
import pytest

from tests.support.accounts import Account, sign_up


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "admin@example.com")


@pytest.fixture
async def user(client: httpx.AsyncClient, admin: Account) -> Account:
    return await sign_up(client, "user@example.com")
