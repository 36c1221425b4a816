"""The official Python SDK's OAuth client provider against a hosted server, the consent page clicked in Chromium:
discovery from the 401, registration, sign-in, consent, code, token; a tool call; a token refresh; the token refused
by another server's endpoint; and the hosted server never seeing the token."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from mcp import Client
from tests.cli.processes import free_port
from tests.oauth.live import browser_for, host_header_server, oauth_host


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.saved: list[OAuthToken] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.saved.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


async def test_the_sdk_signs_in_through_the_consent_page_and_calls_tools(tmp_path: Path, database_url: str) -> None:
    async with oauth_host(tmp_path / "home", database_url) as host:
        headers_server = await host_header_server(host)
        other, _ = await host.host_conformance_server()
        endpoint = f"{host.url}/mcp/{headers_server['slug']}"
        callback = f"http://127.0.0.1:{free_port()}/callback"
        storage = MemoryStorage()

        async with browser_for(host.url, "admin@example.com") as browser:
            await browser.catch(callback)

            async def callback_handler() -> AuthorizationCodeResult:
                url = httpx.URL(await browser.callbacks.get())
                params = url.params
                return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

            provider = OAuthClientProvider(
                server_url=endpoint,
                client_metadata=OAuthClientMetadata(
                    client_name="SDK test client",
                    redirect_uris=[callback],  # type: ignore[list-item]
                    grant_types=["authorization_code", "refresh_token"],
                    response_types=["code"],
                    token_endpoint_auth_method="none",
                ),
                storage=storage,
                redirect_handler=browser.authorize,
                callback_handler=callback_handler,
            )
            http = httpx2.AsyncClient(auth=provider, timeout=60)
            async with Client(streamable_http_client(endpoint, http_client=http), mode="legacy") as client:
                tools = await client.list_tools()
                seen = await client.call_tool("request_headers", {})
                # The access token is past its time: the provider refreshes before the next request.
                provider.context.token_expiry_time = time.time() - 1
                echoed = await client.call_tool("echo", {"text": "after a refresh"})

        first, renewed = storage.saved[0], storage.saved[-1]
        elsewhere = await host.client.post(
            f"/mcp/{other['slug']}",
            json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}},
            headers={
                "authorization": f"Bearer {renewed.access_token}",
                "accept": "application/json, text/event-stream",
            },
        )
        apps = (await host.client.get("/api/me/oauth/apps", headers=host.admin.headers)).json()

    upstream_headers: dict[str, Any] = json.loads(seen.content[0].text)  # type: ignore[union-attr]
    assert "request_headers" in [tool.name for tool in tools.tools]
    assert "SDK test client" in browser.consent_pages[0] and "headers" in browser.consent_pages[0]
    assert "authorization" not in upstream_headers
    assert first.access_token not in json.dumps(upstream_headers)
    assert echoed.content[0].text == "after a refresh"  # type: ignore[union-attr]
    assert len(storage.saved) == 2 and renewed.refresh_token != first.refresh_token
    assert renewed.access_token != first.access_token
    assert elsewhere.status_code == 401 and 'error="invalid_token"' in elsewhere.headers["www-authenticate"]
    assert [(app["client_name"], app["server_slug"]) for app in apps] == [("SDK test client", headers_server["slug"])]
