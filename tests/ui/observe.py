"""Helpers of the server observation tests (logs, metrics, invocations): a running server of a fresh user,
calls through the API's invoke endpoint, and a browser signed in as that user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

from tests.support.waiting import until
from tests.ui.browser import sign_in
from tests.ui.live import Console, unique_email

PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "fake-server"}


@dataclass
class Hosted:
    console: Console
    email: str
    token: str
    server: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.server["id"])

    def status(self) -> str:
        with self.console.api(self.token) as api:
            return str(api.get(f"/api/servers/{self.id}").json()["status"])

    def wait_for(self, status: str) -> None:
        until(lambda: self.status() == status, f"status {status}")

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        body = {"method": "tools/call", "params": {"name": tool, "arguments": arguments}}
        with self.console.api(self.token) as api:
            answer = api.post(f"/api/servers/{self.id}/invoke", json=body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def act(self, action: str) -> None:
        with self.console.api(self.token) as api:
            answer = api.post(f"/api/servers/{self.id}/{action}")
        assert answer.status_code == 202, answer.text


def hosted_server(console: Console, prefix: str, name: str = "observed") -> Hosted:
    """A new user and a server of theirs, running."""
    email = unique_email(prefix)
    token = console.register(email)
    with console.api(token) as api:
        created = api.post("/api/servers", json={"name": name, "source": PACKAGE})
    assert created.status_code == 201, created.text
    hosted = Hosted(console, email, token, dict(created.json()))
    hosted.wait_for("running")
    return hosted


async def open_tab(page: Page, hosted: Hosted, tab: str) -> None:
    await sign_in(page, hosted.email)
    await page.goto(f"/servers/{hosted.id}/{tab}")
