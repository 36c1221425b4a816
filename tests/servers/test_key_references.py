"""Revoking an access key by what the list shows: its id, or its prefix (with or without the trailing …), or the key
itself; a prefix that several active keys share is a clear 409, an unknown one a 404."""

from __future__ import annotations

import secrets
import uuid

import httpx
from fastapi import FastAPI

from mcphost.db.base import utcnow
from mcphost.models import ServerAccessKey
from mcphost.servers.keys import KEY_PREFIX
from tests.servers.hosting import PACKAGE
from tests.support.accounts import Account, assert_error


async def _server(client: httpx.AsyncClient, owner: Account) -> str:
    body = {"name": "keys", "source": PACKAGE, "start": False}
    response = await client.post("/api/servers", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _key(client: httpx.AsyncClient, owner: Account, server_id: str, name: str) -> dict[str, str]:
    response = await client.post(f"/api/servers/{server_id}/keys", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _states(client: httpx.AsyncClient, owner: Account, server_id: str) -> dict[str, bool]:
    listed = (await client.get(f"/api/servers/{server_id}/keys", headers=owner.headers)).json()
    return {key["name"]: key["revoked_at"] is not None for key in listed}


async def test_a_key_is_revoked_by_its_listed_prefix_its_id_or_itself(client: httpx.AsyncClient, user: Account) -> None:
    server_id = await _server(client, user)
    laptop, ci, phone = [await _key(client, user, server_id, name) for name in ("laptop", "ci", "phone")]
    base = f"/api/servers/{server_id}/keys"

    by_prefix = await client.delete(f"{base}/{laptop['prefix']}…", headers=user.headers)
    by_short_prefix = await client.delete(f"{base}/{ci['prefix'].removeprefix(KEY_PREFIX)}", headers=user.headers)
    by_key = await client.delete(f"{base}/{phone['key']}", headers=user.headers)
    again = await client.delete(f"{base}/{laptop['id']}", headers=user.headers)

    assert [by_prefix.status_code, by_short_prefix.status_code, by_key.status_code, again.status_code] == [204] * 4
    assert await _states(client, user, server_id) == {"default": False, "laptop": True, "ci": True, "phone": True}


async def test_unknown_and_too_short_prefixes_are_clear_errors(client: httpx.AsyncClient, user: Account) -> None:
    server_id = await _server(client, user)
    one = await _key(client, user, server_id, "one")
    base = f"/api/servers/{server_id}/keys"

    unknown = await client.delete(f"{base}/{KEY_PREFIX}zzzzzz", headers=user.headers)
    short = await client.delete(f"{base}/{KEY_PREFIX}a", headers=user.headers)
    bare = await client.delete(f"{base}/{KEY_PREFIX}", headers=user.headers)
    other_server = await _server(client, user)
    foreign = await client.delete(f"/api/servers/{other_server}/keys/{one['prefix']}", headers=user.headers)

    assert "no access key with the prefix mcph_sk_zzzzzz" in str(assert_error(unknown, 404, "not_found")["message"])
    assert "at least 3 characters" in str(assert_error(short, 404, "not_found")["message"])
    assert_error(bare, 404, "not_found")
    assert_error(foreign, 404, "not_found")
    assert await _states(client, user, server_id) == {"default": False, "one": False}


async def test_a_prefix_several_active_keys_share_is_ambiguous(
    app: FastAPI, client: httpx.AsyncClient, user: Account
) -> None:
    server_id = await _server(client, user)
    # Keys whose listed prefixes start alike (chance makes them rarely; here they are made so).
    async with app.state.platform.db.session_scope() as session:
        for name, prefix, revoked in (("a", "abcdef", False), ("b", "abcxyz", False), ("old", "abcxqq", True)):
            session.add(
                ServerAccessKey(
                    server_id=uuid.UUID(server_id),
                    name=name,
                    key_hash=secrets.token_hex(32),
                    prefix=KEY_PREFIX + prefix,
                    created_by=user.id,
                    revoked_at=utcnow() if revoked else None,
                )
            )
    base = f"/api/servers/{server_id}/keys"

    ambiguous = await client.delete(f"{base}/{KEY_PREFIX}abc", headers=user.headers)
    longer = await client.delete(f"{base}/{KEY_PREFIX}abcd", headers=user.headers)
    too_short = await client.delete(f"{base}/ab", headers=user.headers)

    error = assert_error(ambiguous, 409, "ambiguous_key")
    assert "2 keys of this server start with mcph_sk_abc" in str(error["message"])
    assert "Name the key by its id" in str(error["message"])
    assert longer.status_code == 204
    assert_error(too_short, 404, "not_found")
    assert await _states(client, user, server_id) == {"default": False, "a": True, "b": False, "old": True}
    # abcx: one active key and one already revoked; the active one is meant.
    beside_a_revoked_one = await client.delete(f"{base}/abcx", headers=user.headers)
    assert beside_a_revoked_one.status_code == 204
    assert (await _states(client, user, server_id))["b"] is True
