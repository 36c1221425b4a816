"""The official conformance suite's authorization-server scenarios (``@modelcontextprotocol/conformance``
0.2.0-alpha.12, ``conformance authorization``) against MCP Host's authorization server: its metadata, and the
authorization code grant with PKCE and the resource indicator of a hosted server, the user's consent clicked in
Chromium (the suite prints the address to open and waits at its own callback).

The suite's other ``auth/*`` scenarios are client scenarios: they test an MCP client against the suite's own mock
authorization server and cannot be pointed at a server, so they do not apply here (docs/oauth.md, "Conformance").
No server scenario involves authorization: the gateway's server scenarios run in tests/gateway/test_conformance.py."""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from pathlib import Path

from tests.cli.processes import free_port
from tests.gateway.conformance import conformance_bin, node22_bin
from tests.oauth.live import browser_for, oauth_host

VERSION = "0.2.0-alpha.12"
SCENARIOS = ("authorization-server-metadata-endpoint", "authorization-code-grant")
_AUTHORIZE_URL = re.compile(r"^(http://\S+/oauth/authorize\?\S+)$", re.MULTILINE)


async def test_the_authorization_server_scenarios_pass(tmp_path: Path, database_url: str) -> None:
    suite, node = conformance_bin(VERSION), node22_bin(VERSION)
    async with oauth_host(tmp_path / "home", database_url) as host:
        server, _ = await host.host_conformance_server()
        port = free_port()
        registered = await host.client.post(
            "/oauth/register",
            json={
                "client_name": "MCP conformance suite",
                "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
                "token_endpoint_auth_method": "none",
            },
        )
        assert registered.status_code == 201, registered.text
        results = Path(tempfile.mkdtemp(prefix="auth-conformance-", dir=tmp_path))
        argv = [
            str(node), str(suite.resolve()), "authorization", "--url", host.url,
            "--client-id", registered.json()["client_id"], "--resource", f"{host.url}/mcp/{server['slug']}",
            "--port", str(port), "-o", str(results),
        ]  # fmt: skip
        env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
        )
        assert process.stdout is not None
        output = ""
        async with browser_for(host.url, "admin@example.com") as browser, asyncio.timeout(240):
            while not (found := _AUTHORIZE_URL.search(output)):
                line = await process.stdout.readline()
                assert line, f"the suite ended without asking for authorization:\n{output}"
                output += line.decode()
            await browser.authorize(found.group(1))
            output += (await process.stdout.read()).decode()
            await process.wait()

    checks = {path.parent.name: json.loads(path.read_text()) for path in sorted(results.glob("*/checks.json"))}
    statuses = {
        scenario: [(check["id"], check["status"]) for check in found_checks]
        for scenario, found_checks in checks.items()
    }
    ran = {scenario for scenario in SCENARIOS if any(name.startswith(scenario) or scenario in name for name in checks)}
    failing = [
        (scenario, check_id, status)
        for scenario, items in statuses.items()
        for check_id, status in items
        if status in ("FAILURE", "WARNING")
    ]
    assert ran == set(SCENARIOS), f"{statuses}\n{output}"
    assert failing == [], f"{statuses}\n{output}"
    assert all(status == "SUCCESS" for items in statuses.values() for _, status in items), f"{statuses}\n{output}"
