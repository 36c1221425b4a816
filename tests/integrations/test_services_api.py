"""Attached PostgreSQL and Redis through the API, against the machine's real PostgreSQL and Redis: each server gets
a database (a Redis key prefix) of its own with credentials of its own, injected into its environment at launch and
never returned; one server's credentials cannot reach another's data; detaching drops the data only when confirmed;
attaching and detaching restart the server with the new environment.

PostgreSQL here trusts local connections (no password is checked on localhost), so isolation is proven by
privileges: each database's CONNECT is revoked from PUBLIC and each role owns only its own database, so connecting
as A's role to B's database is refused whatever the password."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.exceptions import AuthenticationError, NoPermissionError

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.integrations.stores import stores  # noqa: F401 (fixture)
from tests.pinning.orgs import team
from tests.servers.hosting import QUICK, deploy, fake, status_of
from tests.support.accounts import Account, assert_error, sign_up
from tests.support.waiting import eventually


@pytest.fixture
def settings(tmp_path: Path, database_url: str, stores: dict[str, str]) -> Settings:  # noqa: F811
    integrations = {"postgres": {"admin_url": stores["postgres"]}, "redis": {"admin_url": stores["redis"]}}
    return make_settings(tmp_path / "home", database_url, integrations=integrations, **QUICK)


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


async def _env_of(app: FastAPI, server: dict[str, Any], *names: str, absent: bool = False) -> dict[str, str]:
    """The environment of the server's newest running instance, once it has (or, ``absent``, lacks) ``names``."""

    async def probe() -> dict[str, str] | None:
        running = [i for i in fake(app).running if str(i.spec.server_id) == server["id"]]
        return dict(running[-1].spec.env) if running else None

    def ready(env: dict[str, str] | None) -> bool:
        return env is not None and all((name not in env) if absent else (name in env) for name in names)

    found = await eventually(probe, ready, timeout=15, what=f"instance env {'without' if absent else 'with'} {names}")
    assert found is not None
    return found


async def _attach(client: httpx.AsyncClient, owner: Account, server: dict[str, Any], kind: str) -> httpx.Response:
    return await client.post(f"/api/servers/{server['id']}/services", json={"kind": kind}, headers=owner.headers)


async def test_postgres_database_per_server_isolated_injected_and_dropped_on_confirmed_detach(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    a = await deploy(client, owner, name="alpha")
    b = await deploy(client, owner, name="beta")
    await status_of(client, owner, a["id"], "running")
    await status_of(client, owner, b["id"], "running")

    attached = await _attach(client, owner, a, "postgres")
    await _attach(client, owner, b, "postgres")
    again = await _attach(client, owner, a, "postgres")
    listed = await client.get(f"/api/servers/{a['id']}/services", headers=owner.headers)
    env_a = await _env_of(app, a, "DATABASE_URL")
    env_b = await _env_of(app, b, "DATABASE_URL")

    assert attached.status_code == 201, attached.text
    shown = attached.json()
    assert shown["kind"] == "postgres" and shown["env"] == ["DATABASE_URL"]
    assert_error(again, 409, "service_attached")
    url_a, url_b = env_a["DATABASE_URL"], env_b["DATABASE_URL"]
    password_a = url_a.split(":")[2].split("@")[0]
    assert password_a not in attached.text and password_a not in listed.text  # never echoed
    assert listed.json()[0]["resource"] == shown["resource"]

    own = await asyncpg.connect(url_a)
    try:
        await own.execute("CREATE TABLE notes (body text)")
        await own.execute("INSERT INTO notes VALUES ('alpha data')")
        assert await own.fetchval("SELECT body FROM notes") == "alpha data"
        assert await own.fetchval("SELECT current_user") == shown["username"]
    finally:
        await own.close()
    # A's role (with A's password) at B's database: refused by privileges, not by a password.
    b_database = url_b.rsplit("/", 1)[1]
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(url_a.rsplit("/", 1)[0] + "/" + b_database)

    refused = await client.delete(f"/api/servers/{a['id']}/services/postgres", headers=owner.headers)
    wrong = await client.delete(f"/api/servers/{a['id']}/services/postgres?confirm=beta", headers=owner.headers)
    detached = await client.delete(
        f"/api/servers/{a['id']}/services/postgres?confirm={a['slug']}", headers=owner.headers
    )
    env_after = await _env_of(app, a, "DATABASE_URL", absent=True)

    assert "drops" in str(assert_error(refused, 409, "confirmation_required")["message"])
    assert_error(wrong, 409, "confirmation_required")
    assert detached.status_code == 200 and detached.json()["resource"] == shown["resource"]
    assert "DATABASE_URL" not in env_after
    with pytest.raises((asyncpg.InvalidCatalogNameError, asyncpg.InvalidAuthorizationSpecificationError)):
        await asyncpg.connect(url_a)
    assert (await client.get(f"/api/servers/{a['id']}/services", headers=owner.headers)).json() == []
    await client.delete(f"/api/servers/{b['id']}/services/postgres?confirm={b['slug']}", headers=owner.headers)


async def test_redis_user_per_server_sees_only_its_prefix(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    a = await deploy(client, owner, name="alpha")
    b = await deploy(client, owner, name="beta")
    assert (await _attach(client, owner, a, "redis")).status_code == 201
    assert (await _attach(client, owner, b, "redis")).status_code == 201
    env_a = await _env_of(app, a, "REDIS_URL")
    env_b = await _env_of(app, b, "REDIS_URL")
    prefix_a, prefix_b = env_a["REDIS_KEY_PREFIX"], env_b["REDIS_KEY_PREFIX"]
    assert prefix_a == f"mcphost:{a['slug']}:"

    as_a = aioredis.from_url(env_a["REDIS_URL"])
    as_b = aioredis.from_url(env_b["REDIS_URL"])
    try:
        await as_a.set(prefix_a + "k", "alpha data")
        await as_b.set(prefix_b + "k", "beta data")
        assert await as_a.get(prefix_a + "k") == b"alpha data"
        with pytest.raises(NoPermissionError):
            await as_a.get(prefix_b + "k")
        with pytest.raises(NoPermissionError):
            await as_a.set("elsewhere", "x")
        with pytest.raises(NoPermissionError):
            await as_a.execute_command("FLUSHALL")
    finally:
        await as_a.aclose()
        await as_b.aclose()

    gone = await client.delete(f"/api/servers/{a['id']}/services/redis?confirm={a['slug']}", headers=owner.headers)
    assert gone.status_code == 200
    admin = aioredis.from_url(env_b["REDIS_URL"].split("@")[0].split("//")[0] + "//" + env_b["REDIS_URL"].split("@")[1])
    try:
        assert f"mcphost-mcphost_srv_{a['id'].replace('-', '')}" not in await admin.acl_users()
        assert await admin.get(prefix_a + "k") is None and await admin.get(prefix_b + "k") == b"beta data"
    finally:
        await admin.aclose()
    await client.delete(f"/api/servers/{b['id']}/services/redis?confirm={b['slug']}", headers=owner.headers)


async def test_rotating_credentials_restarts_with_new_ones_and_the_old_stop_working(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    server = await deploy(client, owner)
    await _attach(client, owner, server, "redis")
    old = (await _env_of(app, server, "REDIS_URL"))["REDIS_URL"]

    rotated = await client.patch(
        f"/api/servers/{server['id']}/services/redis", json={"rotate_credentials": True}, headers=owner.headers
    )
    new = await eventually(
        lambda: _env_of(app, server, "REDIS_URL"), lambda env: env["REDIS_URL"] != old, what="new credentials"
    )

    assert rotated.status_code == 200, rotated.text
    stale = aioredis.from_url(old)
    try:
        with pytest.raises(AuthenticationError):
            await stale.ping()
    finally:
        await stale.aclose()
    fresh = aioredis.from_url(new["REDIS_URL"])
    try:
        assert await fresh.ping()
    finally:
        await fresh.aclose()
    await client.delete(f"/api/servers/{server['id']}/services/redis?confirm={server['slug']}", headers=owner.headers)


async def test_who_may_attach_and_what_is_refused(client: httpx.AsyncClient, tmp_path: Path) -> None:
    people = await team(client)
    server = await deploy(client, people["owner"], org_id=people["org"], start=False)
    stranger = await sign_up(client, "stranger@example.com")
    path = f"/api/servers/{server['id']}/services"

    member = await client.post(path, json={"kind": "redis"}, headers=people["member"].headers)
    outsider = await client.post(path, json={"kind": "redis"}, headers=stranger.headers)
    unknown = await client.post(path, json={"kind": "mysql"}, headers=people["owner"].headers)
    not_configured = await client.post(path, json={"kind": "s3"}, headers=people["owner"].headers)
    missing = await client.delete(f"{path}/redis?confirm={server['slug']}", headers=people["owner"].headers)
    member_lists = await client.get(path, headers=people["member"].headers)

    assert_error(member, 403, "insufficient_role")
    assert_error(outsider, 404)
    assert_error(unknown, 422)
    assert "MCPHOST_INTEGRATIONS__S3__ENDPOINT" in str(
        assert_error(not_configured, 409, "service_not_configured")["message"]
    )
    assert_error(missing, 404, "service_not_attached")
    assert member_lists.status_code == 200 and member_lists.json() == []


async def test_a_variable_the_server_already_has_is_not_overwritten(client: httpx.AsyncClient, owner: Account) -> None:
    server = await deploy(client, owner, start=False, env={"DATABASE_URL": "postgresql://elsewhere/db"})
    clash = await client.post(f"/api/servers/{server['id']}/services", json={"kind": "postgres"}, headers=owner.headers)
    assert "DATABASE_URL" in str(assert_error(clash, 409, "variable_clash")["message"])


async def test_deleting_a_server_drops_what_is_attached_to_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    owner: Account,
    stores: dict[str, str],  # noqa: F811
) -> None:
    server = await deploy(client, owner, name="doomed")
    await status_of(client, owner, server["id"], "running")
    postgres = (await _attach(client, owner, server, "postgres")).json()
    redis_user = (await _attach(client, owner, server, "redis")).json()["username"]
    url = (await _env_of(app, server, "DATABASE_URL"))["DATABASE_URL"]

    deleted = await client.delete(f"/api/servers/{server['id']}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text

    async def left() -> tuple[bool, bool]:
        admin = await asyncpg.connect(stores["postgres"])
        redis_admin = aioredis.from_url(stores["redis"])
        try:
            database = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", postgres["resource"])
            return database is not None, redis_user in await redis_admin.acl_users()
        finally:
            await admin.close()
            await redis_admin.aclose()

    assert await eventually(left, lambda found: found == (False, False), timeout=30, what="the services dropped")
    with pytest.raises((asyncpg.InvalidCatalogNameError, asyncpg.InvalidAuthorizationSpecificationError)):
        await asyncpg.connect(url)
