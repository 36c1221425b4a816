"""End to end, with the real tools: MCP Host loads Caddy's configuration through its admin API; pebble, the ACME
test CA, validates the challenges for real (names resolved by pebble-challtestsrv to loopback, HTTP-01 and
TLS-ALPN-01 against Caddy's ports); a domain is verified through the verification file the platform serves via
Caddy; and a client that trusts pebble's root, resolving the domain to loopback itself, calls a tool at
``https://{domain}/mcp``. Deleting the domain stops the routing."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from mcphost.api import create_app
from mcphost.domains.caddy import CaddyAdmin, Site
from tests.conftest import make_settings
from tests.domains.tools import Dns, caddy, free_port, pebble
from tests.gateway.mcp_http import McpHttp
from tests.servers.hosting import QUICK, deploy, status_of
from tests.support.accounts import sign_up
from tests.support.waiting import eventually

DOMAIN = "mcp.example.test"


class Loopback(httpx.AsyncHTTPTransport):
    """Connects every request to 127.0.0.1, keeping the name for the Host header and TLS (SNI and verification):
    the client resolves the domain itself."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host
        request.url = request.url.copy_with(host="127.0.0.1")
        request.extensions = {**request.extensions, "sni_hostname": name}
        return await super().handle_async_request(request)


@asynccontextmanager
async def serve_on(app: FastAPI, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        app.state.platform.bus.fanout.close_all()
        server.should_exit = True
        await task


async def test_a_verified_domain_is_served_over_https_by_caddy_with_an_acme_certificate(
    tmp_path: Path, database_url: str, dns: Dns
) -> None:
    http_port, https_port, app_port = free_port(), free_port(), free_port()
    async with (
        caddy(tmp_path) as proxy,
        pebble(tmp_path, dns, http_port=http_port, tls_port=https_port) as ca,
    ):
        log_file = tmp_path / "caddy-certificates.log"
        settings = make_settings(
            tmp_path / "home",
            database_url,
            **QUICK,
            services={"enabled": True},
            server={"port": app_port},
            domains={
                "enabled": True,
                "caddy_admin_url": proxy.admin_url,
                "acme_directory_url": ca.directory_url,
                "acme_ca_root_file": str(ca.listener_cert),
                "acme_email": "ops@example.com",
                "http_port": http_port,
                "https_port": https_port,
                "upstream": f"127.0.0.1:{app_port}",
                "caddy_log_file": str(log_file),
                "dns_resolvers": [dns.resolver],
                "sync_interval_seconds": 1,
                "verify_timeout_seconds": 5,
            },
        )
        app = create_app(settings)
        base = f"http://127.0.0.1:{app_port}"
        async with serve_on(app, app_port), httpx.AsyncClient(base_url=base, timeout=30) as api:
            await _exercise(api, proxy.admin_url, ca, settings, log_file, http_port, https_port)


async def _exercise(
    api: httpx.AsyncClient, admin_url: str, ca: Any, settings: Any, log_file: Path, http_port: int, https_port: int
) -> None:
    await sign_up(api, "admin@example.com")
    owner = await sign_up(api, "owner@example.com")
    stranger = await sign_up(api, "stranger@example.com")
    server = await deploy(api, owner, name="weather")
    await status_of(api, owner, server["id"], "running")
    key = (await api.post(f"/api/servers/{server['id']}/keys", json={}, headers=owner.headers)).json()["key"]
    domains = f"/api/servers/{server['id']}/domains"

    # The platform loaded Caddy's configuration when it started (no domain yet: the HTTP server for verification).
    async def http_server() -> Any:
        async with httpx.AsyncClient() as admin:
            return (await admin.get(f"{admin_url}/config/apps/http/servers/mcphost_http")).json()

    await eventually(http_server, lambda found: bool(found), timeout=20, what="Caddy configured by MCP Host")

    # Another server claims the name too: the HTTP file (which the platform serves for every claim) is not proof.
    theirs = await deploy(api, stranger, name="theirs")
    contested = await api.post(
        f"/api/servers/{theirs['id']}/domains", json={"domain": DOMAIN}, headers=stranger.headers
    )
    assert contested.status_code == 201, contested.text
    added = await api.post(domains, json={"domain": DOMAIN}, headers=owner.headers)
    assert added.status_code == 201, added.text
    refused = await api.post(f"{domains}/{DOMAIN}/verify", headers=owner.headers)
    assert refused.status_code == 422, refused.text
    assert "another server on this platform claims this name too" in refused.json()["error"]["details"]["http"]
    dropped = await api.delete(f"/api/servers/{theirs['id']}/domains/{DOMAIN}", headers=stranger.headers)
    assert dropped.status_code == 204

    # Now the HTTP check fetches http://DOMAIN:PORT/.well-known/mcphost-domain/TOKEN: DNS -> Caddy -> the platform.
    verified = await api.post(f"{domains}/{DOMAIN}/verify", headers=owner.headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified_with"] == "http"

    async def shown() -> dict[str, Any]:
        return dict((await api.get(f"{domains}/{DOMAIN}", headers=owner.headers)).json())

    issued = await eventually(shown, lambda d: d["certificate"]["status"] == "issued", timeout=120, what="issued")
    assert "Pebble Intermediate" in issued["certificate"]["detail"]
    assert issued["certificate"]["expires_at"] is not None
    endpoint = f"https://{DOMAIN}:{https_port}/mcp"
    assert issued["endpoint_url"] == endpoint
    logged = log_file.read_text()
    assert re.search(rf'"certificate obtained successfully".*"identifier":"{re.escape(DOMAIN)}"', logged), logged

    trust = ssl.create_default_context(cadata=await ca.root())
    async with httpx.AsyncClient(transport=Loopback(verify=trust), timeout=30) as client:
        unauthenticated = await client.post(endpoint, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        metadata_url = f"https://{DOMAIN}:{https_port}/.well-known/oauth-protected-resource/mcp"
        metadata = await client.get(metadata_url)
        mcp = McpHttp(client, server["slug"], key)
        mcp.path = endpoint
        await mcp.initialize()
        answer = await mcp.call("echo", text="hello through caddy")
        plain = await client.get(f"http://{DOMAIN}:{http_port}/mcp")
        elsewhere = await client.get(f"https://{DOMAIN}:{https_port}/api/servers")

        assert unauthenticated.status_code == 401
        challenge = unauthenticated.headers["www-authenticate"]
        assert f'resource_metadata="{metadata_url}"' in challenge, challenge
        assert metadata.status_code == 200, metadata.text
        assert metadata.json()["resource"] == endpoint
        assert answer["result"]["content"][0]["text"] == "hello through caddy", answer
        assert plain.status_code == 308
        assert plain.headers["location"] == f"https://{DOMAIN}:{https_port}/mcp"
        assert elsewhere.status_code == 404

        # A restart of the platform loads nothing new: Caddy already runs this configuration.
        again = CaddyAdmin(admin_url)
        assert await again.apply(settings, [Site(DOMAIN, server["slug"])]) is False
        await again.close()

        removed = await api.delete(f"{domains}/{DOMAIN}", headers=owner.headers)
        assert removed.status_code == 204

        async def routed() -> bool:
            try:
                response = await client.post(endpoint, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            except (httpx.ConnectError, ssl.SSLError):
                return False
            return response.status_code != 404

        await eventually(routed, lambda still: not still, timeout=20, what="the route removed")
