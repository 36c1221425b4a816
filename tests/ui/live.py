"""A running ``mcphost up`` for the browser tests (fake runtime, so deploys reach running in a moment) with an
administrator registered first, and the helpers the tests share to sign up, sign in and call the API."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.cli import processes
from tests.support import databases

PASSWORD = "a long passphrase for browser tests"
ADMIN_EMAIL = "admin@example.com"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
_emails = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{os.getpid()}-{next(_emails)}@example.com"


@dataclass
class Console:
    url: str
    admin_token: str

    def api(self, token: str | None = None) -> httpx.Client:
        """An API client, as the administrator unless another token is given."""
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def register(self, email: str, password: str = PASSWORD) -> str:
        """Create an account through the API and return a session token for it."""
        with httpx.Client(base_url=self.url, timeout=10) as http:
            created = http.post("/api/auth/register", json={"email": email, "password": password})
            assert created.status_code == 201, created.text
            return str(http.post("/api/auth/login", json={"email": email, "password": password}).json()["access_token"])


def _database(tmp_path: Path) -> Iterator[dict[str, str]]:
    server = databases.suite_postgres_url()
    if server is None:
        yield {}
        return
    url = asyncio.run(databases.create_postgres_database(server, "ui"))
    try:
        yield {"MCPHOST_DATABASE_URL": url}
    finally:
        asyncio.run(databases.drop_postgres_database(server, url))


@contextmanager
def running_console(tmp_path: Path, **settings: str) -> Iterator[Console]:
    """``mcphost up`` on a free port on the suite's database kind, with an administrator signed up."""
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    for database in _database(tmp_path):
        env = processes.environment(
            MCPHOST_RUNTIME__DEFAULT="fake",
            MCPHOST_RUNTIME__HOST="true",
            # Image and git sources stay unavailable whether or not this machine has Docker (the console's tests).
            MCPHOST_DOCKER__DEFAULT_FOR_IMAGES="false",
            MCPHOST_JOBS__POLL_INTERVAL="0.05",
            MCPHOST_SERVER_LOGS__FLUSH_INTERVAL_SECONDS="0.05",
            MCPHOST_TRACES__FLUSH_INTERVAL_SECONDS="0.05",
            MCPHOST_EVENTS__SSE_HEARTBEAT_SECONDS="2",
            # A cheap argon2 cost keeps sign-ups fast; production uses the default cost.
            MCPHOST_AUTH__PASSWORD_HASH_MEMORY_KIB="1024",
            MCPHOST_AUTH__PASSWORD_HASH_ITERATIONS="1",
            **database,
            **settings,
        )
        home = tmp_path / "home"
        with processes.start("up", "--home", str(home), "--port", str(port), env=env, logs=tmp_path / "logs") as up:
            up.wait_for(lambda: processes.answers(f"{url}/healthz"), "answer on /healthz")
            console = Console(url, "")
            console.admin_token = console.register(ADMIN_EMAIL)
            yield console
