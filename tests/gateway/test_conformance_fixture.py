"""The conformance fixture and the suite runner, without the gateway: the official suite passes a handful of
scenarios against the fixture served directly over Streamable HTTP, and a broken server is reported as such."""

from __future__ import annotations

from pathlib import Path

from tests.gateway.conformance import fixture_server_http, run_suite

SCENARIOS = ["server-initialize", "tools-call-with-progress", "tools-call-sampling", "resources-subscribe"]


async def test_the_fixture_passes_the_suite_directly(tmp_path: Path) -> None:
    async with fixture_server_http() as url:
        result = await run_suite(url, version="0.1.16", scenarios=SCENARIOS, timeout=120, output_dir=tmp_path)

    assert result.failed == {}, result.report()
    assert result.passed == set(SCENARIOS)


async def test_the_fixture_serves_the_2026_scenarios_it_claims() -> None:
    scenarios = ["caching", "http-header-validation", "json-schema-2020-12"]
    async with fixture_server_http() as url:
        result = await run_suite(url, version="0.2.0-alpha.12", scenarios=scenarios, spec_version="2026-07-28")

    assert result.failed == {}, result.report()


async def test_a_failing_scenario_is_reported_with_its_messages() -> None:
    # Without --check-host the fixture accepts any Host, which is exactly what this scenario rejects.
    async with fixture_server_http() as url:
        result = await run_suite(url, version="0.1.16", scenarios=["dns-rebinding-protection"], timeout=120)

    assert set(result.failed) == {"dns-rebinding-protection"}
    assert any("Expected HTTP 4xx" in message for message in result.failed["dns-rebinding-protection"])
    assert "dns-rebinding-protection" in result.report()


async def test_nothing_listening_fails_every_scenario() -> None:
    async with fixture_server_http() as url:
        pass  # stopped again: the port is closed now
    result = await run_suite(url, version="0.1.16", scenarios=["ping"], timeout=120)

    assert result.passed == set()
    assert list(result.failed) == ["ping"]
