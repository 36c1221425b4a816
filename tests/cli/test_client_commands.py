"""The API commands (``login``, ``whoami``, ``servers …``, ``logout``) as a user runs them: the real executable
against a running ``mcphost up`` whose servers run on the fake runtime."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx

from tests.cli import processes
from tests.cli.live import EMAIL, PASSWORD, Instance, ok, one_line_error
from tests.support.waiting import until


def test_login_then_manage_a_server_from_the_terminal(instance: Instance) -> None:
    env = instance.env()
    slug = instance.server["slug"]

    logged_in = ok("login", "--url", instance.url, "--email", EMAIL, "--password", PASSWORD, env=env)
    stored = instance.user_home / ".config" / "mcphost" / "credentials.json"
    assert f"Logged in to {instance.url} as {EMAIL}" in logged_in
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert json.loads(stored.read_text())["url"] == instance.url
    assert PASSWORD not in stored.read_text()

    assert f"{EMAIL} (admin) at {instance.url}" in ok("whoami", env=env)
    table = ok("servers", "list", env=env)
    assert slug in table and "running" in table and "fake" in table
    listed = json.loads(ok("servers", "list", "--json", env=env))
    assert [s["id"] for s in listed] == [instance.server["id"]]
    shown = ok("servers", "show", slug, env=env)
    assert instance.server["id"] in shown and "fake-server" in shown
    assert json.loads(ok("servers", "show", instance.server["id"], "--json", env=env))["slug"] == slug
    tools = ok("servers", "tools", slug, env=env)
    assert "echo" in tools and "Returns its text." in tools

    assert ok("servers", "call", slug, "echo", "--arg", "text=hi", env=env) == "hi\n"
    assert ok("servers", "call", slug, "echo", "--json-args", '{"text": "from json"}', env=env) == "from json\n"
    answer = json.loads(ok("servers", "call", slug, "echo", "--arg", "text=42", "--json", env=env))
    assert answer["result"]["content"] == [{"type": "text", "text": "42"}]  # a string property stays a string

    logs = ok("servers", "logs", slug, "--tail", "50", env=env)
    assert "preparing fake-server" in logs
    assert len(json.loads(ok("servers", "logs", slug, "--tail", "1", "--json", env=env))) == 1
    calls = until(
        lambda: [
            r for r in json.loads(ok("servers", "invocations", slug, "--json", env=env)) if r["method"] == "tools/call"
        ],
        "recorded tool calls",
    )
    assert {r["name"] for r in calls} == {"echo"} and all(r["status"] == "ok" for r in calls)
    assert "tools/call" in ok("servers", "invocations", slug, env=env)

    assert "stop requested" in ok("servers", "stop", slug, env=env)
    until(lambda: json.loads(ok("servers", "show", slug, "--json", env=env))["status"] == "stopped", "stopped server")
    assert f"{slug}: deleted" in ok("servers", "delete", slug, "--yes", env=env)
    assert json.loads(ok("servers", "list", "--json", env=env)) == []

    session_token = json.loads(stored.read_text())["token"]
    assert f"Logged out of {instance.url}" in ok("logout", env=env)
    assert not stored.exists()
    # The session ended on the instance too, not only on this machine.
    with httpx.Client(base_url=instance.url, timeout=10) as http:
        assert http.get("/api/me", headers={"Authorization": f"Bearer {session_token}"}).status_code == 401
    after = processes.run("whoami", env=env)
    assert "not logged in" in one_line_error(after)


def test_a_token_from_the_environment_or_login_token_needs_no_password(instance: Instance) -> None:
    with instance.api() as api:
        created = api.post("/api/tokens", json={"name": "ci", "scopes": ["read", "write", "invoke"]})
        assert created.status_code == 201, created.text
        pat = created.json()["token"]

    from_env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=pat)
    assert EMAIL in ok("whoami", env=from_env)
    assert ok("servers", "call", instance.server["slug"], "echo", "--arg", "text=hi", env=from_env) == "hi\n"
    assert not (instance.user_home / ".config" / "mcphost").exists()  # nothing was stored

    env = instance.env()
    ok("login", "--url", instance.url, "--token", pat, env=env)
    assert json.loads(ok("whoami", "--json", env=env))["email"] == EMAIL
    ok("logout", env=env)
    with instance.api() as api:  # logging out forgets a personal access token; it does not revoke it
        assert api.get("/api/me", headers={"Authorization": f"Bearer {pat}"}).status_code == 200


def test_failures_are_one_readable_line(instance: Instance) -> None:
    bad = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN="not-a-token")
    good = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)

    bad_token = one_line_error(processes.run("servers", "list", env=bad))
    assert "mcphost login" in bad_token
    unknown = one_line_error(processes.run("servers", "show", "no-such-server", env=good))
    assert "no-such-server" in unknown
    assert "no-such-server" in one_line_error(processes.run("servers", "call", "no-such-server", "echo", env=good))
    wrong = processes.run("login", "--url", instance.url, "--email", EMAIL, "--password", "wrong password!!", env=good)
    assert one_line_error(wrong)
    usage = processes.run("servers", "call", instance.server["slug"], "echo", "--arg", "no-equals-sign", env=good)
    assert usage.returncode == 2 and "KEY=VALUE" in usage.stderr and "Traceback" not in usage.stderr


def test_an_unreachable_instance_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{processes.free_port()}"
    env = processes.environment(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path), MCPHOST_URL=url)

    result = processes.run("login", "--token", "anything", env=env)

    assert f"cannot reach {url}" in one_line_error(result)
    assert not (tmp_path / "mcphost").exists()
