"""Pinning and tool-rule tests: the first account (an administrator of the instance)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.accounts import Account, sign_up


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "admin@example.com")
