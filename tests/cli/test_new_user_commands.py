"""What a new user ran into on the command line, run as they ran it: the real executable against a running
``mcphost up`` (fake runtime). ``config export`` keeps the key it made for a client instead of making one per
run; ``login`` finds out that nothing answers before asking for a password; ``servers deploy`` takes a catalog
entry's short name; ``servers create`` passes arguments to the program; ``up`` says to open the console."""

from __future__ import annotations

import http.server
import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import processes
from tests.cli.live import EMAIL, PASSWORD, Instance, ok, one_line_error

MEMORY = "io.github.modelcontextprotocol/memory"


def logged_in(instance: Instance) -> dict[str, str]:
    env = instance.env()
    ok("login", "--url", instance.url, "--email", EMAIL, "--password", PASSWORD, env=env)
    return env


def export_keys(instance: Instance) -> list[dict[str, Any]]:
    """The server's active keys that ``config export`` made."""
    with instance.api() as api:
        keys = api.get(f"/api/servers/{instance.server['id']}/keys").json()
    return [k for k in keys if k["name"].startswith("mcphost config export") and not k["revoked_at"]]


def cursor_key(stdout: str, slug: str) -> str:
    return str(json.loads(stdout)["mcpServers"][slug]["headers"]["Authorization"].removeprefix("Bearer "))


def test_config_export_reuses_the_key_it_made_for_that_client(instance: Instance) -> None:
    env = logged_in(instance)
    slug = instance.server["slug"]

    runs = [processes.run("config", "export", slug, "--client", "cursor", env=env) for _ in range(3)]

    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    keys = {cursor_key(run.stdout, slug) for run in runs}
    assert len(keys) == 1, "three runs, three different keys"
    assert [k["name"] for k in export_keys(instance)] == ["mcphost config export (cursor)"]
    assert "Created the access key 'mcphost config export (cursor)'" in runs[0].stderr
    assert "kept in" in runs[0].stderr and "keys.json" in runs[0].stderr
    for later in runs[1:]:
        assert "no new key was made" in later.stderr and "Created" not in later.stderr
    kept = instance.user_home / ".config" / "mcphost" / "keys.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text())[instance.url][slug]["exports"]["cursor"]["key"] == keys.pop()

    # Another client gets a key of its own, kept as well.
    vscode = processes.run("config", "export", slug, "--client", "vscode", env=env)
    assert vscode.returncode == 0 and "Created the access key 'mcphost config export (vscode)'" in vscode.stderr
    assert "other active key" not in vscode.stderr  # cursor's key is in use, not a leftover to revoke
    again = processes.run("config", "export", slug, "--client", "vscode", env=env)
    assert "no new key was made" in again.stderr
    assert sorted(k["name"] for k in export_keys(instance)) == [
        "mcphost config export (cursor)",
        "mcphost config export (vscode)",
    ]


def test_config_export_replaces_a_kept_key_that_stopped_working_and_names_older_ones(instance: Instance) -> None:
    env = logged_in(instance)
    slug, server_id = instance.server["slug"], instance.server["id"]
    with instance.api() as api:  # a key an older version of the command made (one per run, never kept)
        older = api.post(f"/api/servers/{server_id}/keys", json={"name": "mcphost config export"}).json()
    first = processes.run("config", "export", slug, "--client", "cursor", env=env)
    assert first.returncode == 0, first.stderr
    assert "1 other active key(s) made by `config export`" in first.stderr
    assert older["id"] in first.stderr and f"mcphost servers keys revoke {slug} ID" in first.stderr
    made = next(k for k in export_keys(instance) if k["name"] == "mcphost config export (cursor)")

    with instance.api() as api:
        assert api.delete(f"/api/servers/{server_id}/keys/{made['id']}").status_code == 204
    second = processes.run("config", "export", slug, "--client", "cursor", env=env)

    assert second.returncode == 0, second.stderr
    assert "no longer works" in second.stderr and "Created the access key" in second.stderr
    assert cursor_key(second.stdout, slug) != cursor_key(first.stdout, slug)
    third = processes.run("config", "export", slug, "--client", "cursor", env=env)
    assert cursor_key(third.stdout, slug) == cursor_key(second.stdout, slug)
    assert "no new key was made" in third.stderr


@pytest.fixture
def not_mcphost() -> Iterator[str]:
    """A web server that is not MCP Host: it answers 404 to everything."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_login_checks_the_address_before_asking_for_a_password(tmp_path: Path, not_mcphost: str) -> None:
    env = processes.environment(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / ".config"))
    nowhere = f"http://127.0.0.1:{processes.free_port()}"

    for url, said in ((nowhere, "cannot reach"), (not_mcphost, "is not an MCP Host instance")):
        # Without --email/--password the command would ask for them; with nothing answering it must not.
        result = processes.run("login", "--url", url, env=env)
        line = one_line_error(result)
        assert said in line and url in line and "--url" in line, line
        assert "Email" not in result.stdout + result.stderr and "Password" not in result.stdout + result.stderr

    from_env = processes.run("login", env=env | {"MCPHOST_URL": nowhere})
    assert f"cannot reach {nowhere} (from $MCPHOST_URL)" in one_line_error(from_env)
    assert not (tmp_path / ".config" / "mcphost" / "credentials.json").exists()


def test_deploy_finds_a_catalog_entry_by_its_short_name(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)

    created = json.loads(ok("servers", "deploy", "memory", "--json", env=env))
    shown = json.loads(ok("catalog", "show", "Memory", "--json", env=env))
    missing = processes.run("servers", "deploy", "no-such-server", env=env)

    assert created["source"]["name"] == MEMORY and created["access_key"]
    assert shown["name"] == MEMORY
    line = one_line_error(missing)
    assert "`mcphost catalog search no-such-server`" in line and "/api/" not in line, line
    full = processes.run("servers", "deploy", "io.example/none", env=env)
    assert "/api/" not in one_line_error(full)


def test_create_passes_arguments_to_the_program(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)

    ok("servers", "create", "argued", "--package", "pypi:fake-server", "--arg", "--root", "--arg=/data/files",
       "-a", "two words", env=env)  # fmt: skip
    ok("servers", "create", "commanded", "--command", "fake-server --port 0", "--arg", "x y", env=env)

    package = json.loads(ok("servers", "show", "argued", "--json", env=env))["source"]
    command = json.loads(ok("servers", "show", "commanded", "--json", env=env))["source"]
    assert package["args"] == ["--root", "/data/files", "two words"]
    assert command["command"] == ["fake-server", "--port", "0", "x y"]
    shown = ok("servers", "show", "argued", env=env)
    assert "--root" in shown and "two words" in shown
