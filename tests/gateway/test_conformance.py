"""The official conformance suite against servers behind the gateway, reached only through ``/mcp/{slug}`` with an
access key (the suite cannot send headers, so a reverse proxy in front of the gateway adds it). Every active server
scenario of 0.1.16 must pass for stdio and Streamable HTTP upstreams in each isolation mode; the 0.2.0 suite checks
the stateless era's header validation and caching hints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.auth_proxy import AuthProxy
from tests.gateway.conformance import run_suite
from tests.gateway.live import LiveHost, live_host, live_settings

#: The suite's run time is mostly server starts: per_session starts a fresh instance for each of its ~30 sessions
#: (an HTTP fixture takes several seconds to start on a loaded machine), where the other modes start one or two.
SUITE_SECONDS = {"shared": 300.0, "per_user": 300.0, "per_session": 600.0}


@pytest.fixture
async def host(tmp_path: Path, database_url: str) -> AsyncIterator[LiveHost]:
    # The suite opens a session per scenario and ends few of them: with per_session isolation the default cap (20
    # instances) holds because the least recently used idle one is ended for each new session.
    settings = live_settings(tmp_path / "home", database_url)
    async with live_host(settings) as running:
        yield running


@pytest.mark.parametrize("isolation", ["shared", "per_user", "per_session"])
@pytest.mark.parametrize("upstream", ["stdio", "http"])
async def test_every_active_scenario_passes_through_the_gateway(host: LiveHost, upstream: str, isolation: str) -> None:
    server, key = await host.host_conformance_server(http=upstream == "http", isolation=isolation)

    async with AuthProxy(f"{host.url}/mcp/{server['slug']}", headers={"authorization": f"Bearer {key}"}) as proxy:
        result = await run_suite(proxy.url, version="0.1.16", timeout=SUITE_SECONDS[isolation])

    assert not result.failed, result.report()
    assert len(result.passed) >= 30
    if isolation == "per_session":  # more sessions than the default cap (20): the idle ones made room
        read = await host.client.get(f"/api/servers/{server['id']}", headers=host.admin.headers)
        assert read.json()["evictions"] > 0


async def test_the_stateless_era_validates_headers_and_adds_caching_hints(host: LiveHost) -> None:
    server, key = await host.host_conformance_server()

    async with AuthProxy(f"{host.url}/mcp/{server['slug']}", headers={"authorization": f"Bearer {key}"}) as proxy:
        result = await run_suite(
            proxy.url,
            version="0.2.0-alpha.12",
            spec_version="2026-07-28",
            scenarios=["http-header-validation", "caching"],
        )

    assert not result.failed, result.report()


async def test_without_the_key_the_suite_gets_nowhere(host: LiveHost) -> None:
    server, _ = await host.host_conformance_server()

    result = await run_suite(f"{host.url}/mcp/{server['slug']}", version="0.1.16", scenarios=["tools-list"])

    assert "tools-list" in result.failed
