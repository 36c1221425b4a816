"""``mcphost servers domains`` as a user runs it: the real executable against a running ``mcphost up`` with custom
domains on, verifying through a real DNS server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli import processes
from tests.cli.conftest import CHEAP_HASHING
from tests.cli.live import Instance, ok, one_line_error, running_instance
from tests.domains.tools import Dns, free_port

NAME = "mcp.example.com"


@pytest.fixture
def instance(tmp_path: Path, database_url: str, dns: Dns) -> Iterator[Instance]:
    extra = dict(CHEAP_HASHING)
    if not database_url.startswith("sqlite"):
        extra["MCPHOST_DATABASE_URL"] = database_url
    extra |= {
        "MCPHOST_DOMAINS__ENABLED": "true",
        "MCPHOST_DOMAINS__DNS_RESOLVERS": json.dumps([dns.resolver]),
        "MCPHOST_DOMAINS__HTTP_PORT": str(free_port()),
        "MCPHOST_DOMAINS__VERIFY_TIMEOUT_SECONDS": "3",
        # No Caddy in this test: the sync finds none and says so in the certificate's detail.
        "MCPHOST_DOMAINS__CADDY_ADMIN_URL": f"http://127.0.0.1:{free_port()}",
    }
    yield from running_instance(tmp_path / "home", processes.environment(**extra), tmp_path)


def test_add_verify_list_and_remove_a_domain(instance: Instance, dns: Dns) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)
    slug = instance.server["slug"]

    added = ok("servers", "domains", "add", slug, NAME, env=env)
    token = json.loads(ok("servers", "domains", "list", slug, "--json", env=env))[0]["verification"]["token"]
    early = one_line_error(processes.run("servers", "domains", "verify", slug, NAME, env=env))
    bad = one_line_error(processes.run("servers", "domains", "add", slug, "192.0.2.1", env=env))
    with httpx.Client() as http:
        published = http.post(
            f"http://127.0.0.1:{dns.management}/set-txt",
            json={"host": f"_mcphost-challenge.{NAME}.", "value": token},
        )
    assert published.status_code == 200
    verified = ok("servers", "domains", "verify", slug, NAME, env=env)
    listed = ok("servers", "domains", env=env)
    removed = ok("servers", "domains", "rm", slug, NAME, "--yes", env=env)
    after = ok("servers", "domains", slug, env=env)

    assert f"_mcphost-challenge.{NAME}" in added and token in added
    assert f"/.well-known/mcphost-domain/{token}" in added
    assert f"mcphost servers domains verify {slug} {NAME}" in added
    assert "is not verified yet" in early and "no TXT record" in early
    assert "IP address" in bad
    assert f"{NAME}: verified (dns" in verified and "certificate pending" in verified
    assert NAME in listed and slug in listed and "verified" in listed
    assert f"removed {NAME}" in removed
    assert "no custom domains" in after
