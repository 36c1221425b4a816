"""``mcphost up`` as a user runs it: a real process on a real port, stopped with a signal."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.cli import processes

PASSWORD = "a long passphrase for tests"


def test_up_serves_a_healthy_instance_and_says_what_to_do_next(
    home: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    with processes.start("up", "--home", str(home), "--port", str(port), env=cli_env, logs=tmp_path) as server:
        server.wait_for(lambda: processes.answers(f"{url}/healthz"), "answer on /healthz")
        with httpx.Client(base_url=url, timeout=10) as http:
            health = http.get("/healthz")
            ready = http.get("/readyz")
            # What the README's API section tells a new user to do (the banner points to the console).
            registered = http.post("/api/auth/register", json={"email": "first@example.com", "password": PASSWORD})
            login = http.post("/api/auth/login", json={"email": "first@example.com", "password": PASSWORD})
            me = http.get("/api/me", headers={"Authorization": f"Bearer {login.json().get('access_token')}"})

    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert ready.status_code == 200, ready.text
    assert registered.status_code == 201, registered.text
    assert me.status_code == 200 and me.json()["role"] == "admin", me.text
    banner = server.stderr
    assert f"is starting at {url}" in banner
    assert f"{url}/api/docs" in banner
    assert f"Next: open {url} in a browser" in banner  # the console, where a new user signs up
    assert "first account" in banner and "administrator" in banner
    assert "curl" not in banner
    assert "Traceback" not in banner


def test_first_start_creates_a_private_home_with_a_generated_key(
    home: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    port = processes.free_port()
    with processes.start("up", "--home", str(home), "--port", str(port), env=cli_env, logs=tmp_path) as server:
        server.wait_for(lambda: processes.answers(f"http://127.0.0.1:{port}/healthz"), "answer on /healthz")

    key = home / "secret.key"
    assert home.stat().st_mode & 0o777 == 0o700
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_text().strip()) >= 32


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_up_cleanly(home: Path, cli_env: dict[str, str], tmp_path: Path, sig: signal.Signals) -> None:
    port = processes.free_port()
    with processes.start("up", "--home", str(home), "--port", str(port), env=cli_env, logs=tmp_path) as server:
        server.wait_for(lambda: processes.answers(f"http://127.0.0.1:{port}/healthz"), "answer on /healthz")
        code, took = server.stop(sig)

    assert code == 0, server.describe()
    assert took < 15
    assert "Traceback" not in server.stderr
    assert not processes.answers(f"http://127.0.0.1:{port}/healthz")
