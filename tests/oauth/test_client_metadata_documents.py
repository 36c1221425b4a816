"""Client ID Metadata Documents served by the test on loopback, as VS Code and Claude Code publish theirs: a good
one completes the flow; one too large, too slow, redirecting, naming another client_id or carrying a secret is
refused with invalid_client(_metadata) and nothing is issued; and by default loopback hosts are not fetched at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from mcphost.models import OAuthClient, OAuthCode
from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.gateway.mcp_http import McpHttp, hosted_with_key
from tests.oauth.documents import LOOPBACK_REDIRECT, serving_documents
from tests.oauth.flow import Authorization, resource_of
from tests.servers.hosting import QUICK
from tests.support.accounts import Account, sign_up
from tests.support.apps import app_client, platform_session

#: Tests fetch from loopback over http; production needs https and public addresses.
TEST_FETCHING = {"allow_private_metadata_hosts": True, "allow_http_metadata": True, "metadata_timeout_seconds": 1.0}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **QUICK, oauth=TEST_FETCHING)


async def _rows(client: httpx.AsyncClient) -> tuple[int, int]:
    client.app = client._transport.app  # type: ignore[attr-defined]
    async with platform_session(client) as session:
        clients = await session.scalar(sa.select(sa.func.count()).select_from(OAuthClient))
        codes = await session.scalar(sa.select(sa.func.count()).select_from(OAuthCode))
    return int(clients or 0), int(codes or 0)


async def test_a_metadata_document_client_signs_in(
    client: httpx.AsyncClient, owner: Account, servers: tuple[dict[str, Any], Any]
) -> None:
    slug = servers[0]["slug"]
    async with serving_documents() as base:
        client_id = f"{base}/clients/vscode.json"
        flow = Authorization(
            client, owner, client_id, resource_of(slug), redirect_uri="http://127.0.0.1:50999/callback"
        )
        page = await flow.open()
        tokens = await flow.exchange(await flow.code())
    mcp = McpHttp(client, slug, tokens.json()["access_token"])
    await mcp.initialize()
    called = await mcp.call("echo", text="from vs code")
    apps = (await client.get("/api/me/oauth/apps", headers=owner.headers)).json()

    assert "Visual Studio Code" in page.text and "metadata document" in page.text
    assert tokens.status_code == 200, tokens.text
    assert called["result"]["content"][0]["text"] == "from vs code"
    assert [(app["client_id"], app["registration"], app["client_host"]) for app in apps] == [
        (client_id, "metadata_document", "127.0.0.1")
    ]


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("large.json", 400, "larger than 5120 bytes"),
        ("slow.json", 401, "did not arrive within 1 s"),
        ("moved.json", 401, "redirects are not followed"),
        ("impostor.json", 400, "is not its own URL"),
        ("secret.json", 400, "must not contain a client secret"),
        ("missing.json", 401, "answered 404"),
    ],
)
async def test_unusable_documents_are_refused_and_nothing_is_issued(
    client: httpx.AsyncClient, owner: Account, servers: tuple[dict[str, Any], Any], name: str, status: int, words: str
) -> None:
    async with serving_documents() as base:
        flow = Authorization(client, owner, f"{base}/clients/{name}", resource_of(servers[0]["slug"]))
        flow.redirect_uri = LOOPBACK_REDIRECT
        answer = await flow.open()

    assert answer.status_code == status, answer.text
    assert "location" not in answer.headers  # never redirected to a client that could not be identified
    assert words in answer.text
    assert await _rows(client) == (0, 0)


async def test_by_default_loopback_and_http_documents_are_not_fetched(tmp_path: Path, database_url: str) -> None:
    strict = make_settings(tmp_path / "home", database_url, **QUICK)
    async with app_client(strict) as client, serving_documents() as base:
        owner = await sign_up(client, "owner@example.com")
        server, _ = await hosted_with_key(client, owner)
        https_loopback = f"https://127.0.0.1:{base.rsplit(':', 1)[1]}/clients/vscode.json"
        over_http = await Authorization(
            client, owner, f"{base}/clients/vscode.json", resource_of(server["slug"])
        ).open()
        private = await Authorization(client, owner, https_loopback, resource_of(server["slug"])).open()
        root_path = await Authorization(client, owner, "https://client.example", resource_of(server["slug"])).open()

    assert over_http.status_code == 401 and "must use https" in over_http.text
    assert private.status_code == 401 and "non-public address" in private.text
    assert root_path.status_code == 401 and "needs a path" in root_path.text
