"""The domains tab: an owner adds a domain and sees both ways to verify it, is told what was found when the token is
not published yet, verifies it once the TXT record is there (a real DNS server: pebble-challtestsrv), sees the
certificate's state, and removes it after confirming."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.domains.tools import free_port, need, running
from tests.support.waiting import until
from tests.ui.browser import ConsoleWatch
from tests.ui.live import Console, running_console
from tests.ui.observe import hosted_server, open_tab

NAME = "mcp.example.com"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def dns_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """pebble-challtestsrv as the DNS: (DNS port, management port)."""
    program = need("pebble-challtestsrv")
    port, management = free_port(), free_port()
    argv = [program, "-dns01", f"127.0.0.1:{port}", "-management", f"127.0.0.1:{management}"]
    argv += ["-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv6", ""]
    log: Path = tmp_path_factory.mktemp("dns") / "challtestsrv.log"
    with running(argv, log):
        until(lambda: _listening(management), "pebble-challtestsrv")
        yield port, management


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, dns_ports: tuple[int, int]) -> Iterator[Console]:
    settings = {
        "MCPHOST_DOMAINS__ENABLED": "true",
        "MCPHOST_DOMAINS__DNS_RESOLVERS": json.dumps([f"127.0.0.1:{dns_ports[0]}"]),
        "MCPHOST_DOMAINS__HTTP_PORT": str(free_port()),
        "MCPHOST_DOMAINS__VERIFY_TIMEOUT_SECONDS": "3",
        "MCPHOST_DOMAINS__CADDY_ADMIN_URL": f"http://127.0.0.1:{free_port()}",  # no Caddy here
    }
    with running_console(tmp_path_factory.mktemp("console"), **settings) as running_instance:
        yield running_instance


async def test_an_owner_adds_verifies_and_removes_a_domain(
    page: Page, console: Console, dns_ports: tuple[int, int], console_watch: ConsoleWatch
) -> None:
    console_watch.expect_status(422)  # the verification that finds no token yet
    hosted = hosted_server(console, "domains")
    await open_tab(page, hosted, "domains")
    await expect(page.get_by_text("No custom domain yet.")).to_be_visible()

    await page.get_by_role("textbox", name="Domain").fill(NAME)
    await page.get_by_role("button", name="Add domain").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{NAME} added")
    card = page.locator(f"article[data-domain='{NAME}']")
    await expect(card).to_contain_text("pending verification")
    await expect(card).to_contain_text(f"_mcphost-challenge.{NAME}")
    await expect(card).to_contain_text("/.well-known/mcphost-domain/")

    await card.get_by_role("button", name=f"Verify {NAME}").click()
    await expect(page.locator("#flash")).to_contain_text(f"{NAME} is not verified yet")
    await expect(page.locator("#flash")).to_contain_text("no TXT record")

    with console.api(hosted.token) as api:
        token = api.get(f"/api/servers/{hosted.id}/domains/{NAME}").json()["verification"]["token"]
    async with httpx.AsyncClient() as http:
        published = await http.post(
            f"http://127.0.0.1:{dns_ports[1]}/set-txt", json={"host": f"_mcphost-challenge.{NAME}.", "value": token}
        )
    assert published.status_code == 200
    await card.get_by_role("button", name=f"Verify {NAME}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{NAME} is verified")
    await expect(card.locator("[data-certificate]")).to_contain_text("certificate pending")
    await expect(card).to_contain_text("with the DNS TXT record")

    page.once("dialog", lambda dialog: dialog.accept())
    await card.get_by_role("button", name=f"Remove {NAME}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{NAME} removed")
    await expect(page.get_by_text("No custom domain yet.")).to_be_visible()
    with console.api(hosted.token) as api:
        assert api.get(f"/api/servers/{hosted.id}/domains").json() == []
