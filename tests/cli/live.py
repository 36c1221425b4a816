"""A running ``mcphost up`` (fake runtime) with an administrator and one running server, and the helpers the
command tests use to run the real executable against it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.cli import processes
from tests.support.waiting import until

PASSWORD = "a long passphrase for tests"
EMAIL = "cli@example.com"
PACKAGE = {"type": "package", "registry_type": "pypi", "identifier": "fake-server"}


@dataclass
class Instance:
    url: str
    token: str
    server: dict[str, Any]
    user_home: Path

    def env(self, **variables: str) -> dict[str, str]:
        """The environment of a CLI command: a private home and config directory, no MCPHOST_* unless given."""
        return processes.environment(
            HOME=str(self.user_home), XDG_CONFIG_HOME=str(self.user_home / ".config"), **variables
        )

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)


def running_instance(home: Path, cli_env: dict[str, str], tmp_path: Path) -> Iterator[Instance]:
    """A running instance with an administrator and one running server ``srv`` on the fake runtime."""
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    env = cli_env | {
        "MCPHOST_RUNTIME__DEFAULT": "fake",
        "MCPHOST_RUNTIME__HOST": "true",
        "MCPHOST_JOBS__POLL_INTERVAL": "0.05",
        "MCPHOST_SERVER_LOGS__FLUSH_INTERVAL_SECONDS": "0.05",
        "MCPHOST_TRACES__FLUSH_INTERVAL_SECONDS": "0.05",
    }
    with processes.start("up", "--home", str(home), "--port", str(port), env=env, logs=tmp_path / "logs") as up:
        up.wait_for(lambda: processes.answers(f"{url}/healthz"), "answer on /healthz")
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.post("/api/auth/register", json={"email": EMAIL, "password": PASSWORD}).status_code == 201
            token = http.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            created = http.post("/api/servers", json={"name": "srv", "source": PACKAGE}, headers=headers)
            assert created.status_code == 201, created.text
            server = created.json()
            until(
                lambda: http.get(f"/api/servers/{server['id']}", headers=headers).json()["status"] == "running",
                "running server",
            )
        user_home = tmp_path / "user"
        user_home.mkdir()
        yield Instance(url, token, server, user_home)


def ok(*args: str, env: dict[str, str]) -> str:
    result = processes.run(*args, env=env)
    assert result.returncode == 0, f"mcphost {' '.join(args)}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def one_line_error(result: Any) -> str:
    """The single ``error: …`` line an expected failure prints, checked to be the only thing on stderr."""
    assert result.returncode == 1, f"{result.returncode}\n{result.stdout}\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])
