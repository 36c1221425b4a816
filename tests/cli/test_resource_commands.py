"""``catalog``, ``tokens``, ``orgs``, ``users``, ``jobs``, ``nodes`` and ``events`` as a user runs them: the real
executable against a running ``mcphost up``."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cli import processes
from tests.cli.live import ok

PASSWORD = "a long passphrase for tests"
ADMIN = "admin@example.com"
BOB = "bob@example.com"


@dataclass
class Instance:
    url: str
    user_home: Path
    tmp_path: Path

    def env(self, name: str = "user", **variables: str) -> dict[str, str]:
        """The environment of a CLI command of one local user: their own home and config directory."""
        home = self.user_home / name
        home.mkdir(parents=True, exist_ok=True)
        return processes.environment(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), **variables)

    def login(self, email: str, name: str = "user") -> dict[str, str]:
        env = self.env(name)
        ok("login", "--url", self.url, "--email", email, "--password", PASSWORD, env=env)
        return env


@pytest.fixture
def instance(home: Path, cli_env: dict[str, str], tmp_path: Path) -> Iterator[Instance]:
    """A running instance with an administrator (the first account) and an ordinary user."""
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    env = cli_env | {"MCPHOST_RUNTIME__DEFAULT": "fake", "MCPHOST_JOBS__POLL_INTERVAL": "0.05"}
    with processes.start("up", "--home", str(home), "--port", str(port), env=env, logs=tmp_path / "logs") as up:
        up.wait_for(lambda: processes.answers(f"{url}/healthz"), "answer on /healthz")
        with httpx.Client(base_url=url, timeout=10) as http:
            for email in (ADMIN, BOB):
                registered = http.post("/api/auth/register", json={"email": email, "password": PASSWORD})
                assert registered.status_code == 201, registered.text
        yield Instance(url, tmp_path / "users", tmp_path)


def one_line_error(*args: str, env: dict[str, str]) -> str:
    result = processes.run(*args, env=env)
    assert result.returncode == 1, f"{result.returncode}\n{result.stdout}\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_catalog_list_search_show_and_import(instance: Instance) -> None:
    env = instance.login(ADMIN)
    fetch = "io.github.modelcontextprotocol/fetch"

    listed = json.loads(ok("catalog", "list", "--json", env=env))
    names = {entry["name"] for entry in listed}
    assert {fetch, "io.github.modelcontextprotocol/memory"} <= names
    assert fetch in ok("catalog", "list", env=env)
    found = json.loads(ok("catalog", "search", "fetch", "--json", env=env))
    assert fetch in {entry["name"] for entry in found}
    assert "io.github.modelcontextprotocol/memory" not in {entry["name"] for entry in found}
    assert "No catalog entries match." in ok("catalog", "search", "no-such-thing-anywhere", env=env)

    shown = json.loads(ok("catalog", "show", fetch, "--json", env=env))
    assert shown["name"] == fetch and shown["builtin"] is True
    table = ok("catalog", "show", fetch, env=env)
    assert fetch in table and shown["version"] in table
    assert "error: " in one_line_error("catalog", "show", "io.example/missing", env=env)

    document = dict(shown["document"])
    document["name"] = "io.example/cli-imported"
    document.pop("_meta", None)
    path = instance.tmp_path / "server.json"
    path.write_text(json.dumps(document))
    assert "Imported io.example/cli-imported" in ok("catalog", "import", str(path), env=env)
    assert json.loads(ok("catalog", "show", "io.example/cli-imported", "--json", env=env))["builtin"] is False

    path.write_text("{not json")
    assert "is not JSON" in one_line_error("catalog", "import", str(path), env=env)
    bob = instance.login(BOB, "bob")
    path.write_text(json.dumps(document | {"name": "io.example/by-bob"}))
    assert "Only administrators" in one_line_error("catalog", "import", str(path), env=bob)


def test_a_created_token_works_until_it_is_revoked(instance: Instance) -> None:
    env = instance.login(ADMIN)

    created = processes.run(
        "tokens", "create", "ci", "--scope", "read", "--scope", "invoke", "--expires-days", "7", env=env
    )
    assert created.returncode == 0, created.stderr
    assert "not be shown again" in created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert "scopes invoke, read" in created.stdout

    as_token = instance.env("script", MCPHOST_URL=instance.url, MCPHOST_TOKEN=token)
    assert f"{ADMIN} (admin)" in ok("whoami", env=as_token)

    tokens = json.loads(ok("tokens", "list", "--json", env=env))
    assert [(t["name"], sorted(t["scopes"])) for t in tokens] == [("ci", ["invoke", "read"])]
    assert token.startswith(tokens[0]["prefix"])
    assert "ci" in ok("tokens", "list", env=env)

    # A read-only token may not create tokens: the server's refusal, in one line.
    assert "error: " in one_line_error("tokens", "create", "other", env=as_token)

    assert f"Revoked token {tokens[0]['id']}" in ok("tokens", "revoke", tokens[0]["id"], env=env)
    assert "mcphost login" in one_line_error("whoami", env=as_token)
    assert json.loads(ok("tokens", "list", "--json", env=env)) == []
    assert json.loads(ok("tokens", "list", "--all", "--json", env=env))[0]["revoked_at"] is not None

    ok("tokens", "create", "by-name", env=env)
    assert "Revoked token" in ok("tokens", "revoke", "by-name", env=env)
    assert "No token is named" in one_line_error("tokens", "revoke", "by-name", env=env)


def test_organisations_members_and_roles(instance: Instance) -> None:
    env = instance.login(ADMIN)

    created = ok("orgs", "create", "Team A", env=env)
    assert "slug team-a" in created
    orgs = json.loads(ok("orgs", "list", "--json", env=env))
    assert [(org["slug"], org["role"]) for org in orgs] == [("team-a", "owner")]
    assert "team-a" in ok("orgs", "list", env=env)

    assert f"{BOB} added to team-a as member" in ok("orgs", "invite", "team-a", BOB, env=env)
    assert "invited to team-a as viewer" in ok(
        "orgs", "invite", orgs[0]["id"], "new@example.com", "--role", "viewer", env=env
    )
    listing = json.loads(ok("orgs", "members", "Team A", "--json", env=env))
    assert {(m["email"], m["role"]) for m in listing["members"]} == {(ADMIN, "owner"), (BOB, "member")}
    assert [(i["email"], i["role"]) for i in listing["invitations"]] == [("new@example.com", "viewer")]
    table = ok("orgs", "members", "team-a", env=env)
    assert BOB in table and "invited" in table

    bob_id = next(m["user_id"] for m in listing["members"] if m["email"] == BOB)
    assert f"{BOB} is now admin in team-a" in ok("orgs", "role", "team-a", BOB, "admin", env=env)
    assert f"{BOB} is now viewer in team-a" in ok("orgs", "role", "team-a", bob_id, "viewer", env=env)
    # Bob, a viewer, sees the organisation but may not change it.
    bob = instance.login(BOB, "bob")
    assert [org["role"] for org in json.loads(ok("orgs", "list", "--json", env=bob))] == ["viewer"]
    assert "error: " in one_line_error("orgs", "invite", "team-a", "x@example.com", env=bob)

    assert f"{BOB} removed from team-a" in ok("orgs", "remove", "team-a", BOB, env=env)
    members = json.loads(ok("orgs", "members", "team-a", "--json", env=env))["members"]
    assert [m["email"] for m in members] == [ADMIN]
    assert "No member" in one_line_error("orgs", "remove", "team-a", BOB, env=env)
    assert "No organisation" in one_line_error("orgs", "members", "nope", env=env)
    usage = processes.run("orgs", "role", "team-a", ADMIN, "chief", env=env)
    assert usage.returncode == 2


def test_administrators_manage_users_jobs_and_nodes(instance: Instance) -> None:
    env = instance.login(ADMIN)
    bob = instance.login(BOB, "bob")

    users = json.loads(ok("users", "list", "--json", env=env))
    assert {(u["email"], u["role"]) for u in users} == {(ADMIN, "admin"), (BOB, "user")}
    assert BOB in ok("users", "list", env=env)
    assert "Only administrators can do this." in one_line_error("users", "list", env=bob)
    assert "Only administrators can do this." in one_line_error("jobs", "list", env=bob)

    assert f"{BOB} is now admin" in ok("users", "role", BOB, "admin", env=env)
    assert "(admin)" in ok("whoami", env=bob)
    bob_id = next(u["id"] for u in users if u["email"] == BOB)
    assert f"{BOB} is now user" in ok("users", "role", bob_id, "user", env=env)
    assert f"{BOB} may now own 3 servers" in ok("users", "quota", BOB, "3", env=env)
    assert f"{BOB} disabled" in ok("users", "disable", BOB, env=env)
    assert "error: " in one_line_error("whoami", env=bob)
    assert f"{BOB} enabled" in ok("users", "enable", BOB, env=env)
    bob = instance.login(BOB, "bob")
    assert f"{BOB} (user)" in ok("whoami", env=bob)
    assert "No user" in one_line_error("users", "disable", "nobody@example.com", env=env)

    with httpx.Client(base_url=instance.url, timeout=10) as http:  # a server's start is a job on the node's queue
        token = http.post("/api/auth/login", json={"email": ADMIN, "password": PASSWORD}).json()["access_token"]
        package = {"type": "package", "registry_type": "pypi", "identifier": "fake-server"}
        created = http.post(
            "/api/servers", json={"name": "jobbed", "source": package}, headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201, created.text
    jobs = json.loads(ok("jobs", "list", "--json", env=env))
    assert json.loads(ok("jobs", "list", "--state", "dead", "--json", env=env)) == [
        job for job in jobs if job["status"] == "dead"
    ]
    ok("jobs", "list", env=env)
    assert json.loads(ok("jobs", "show", jobs[0]["id"], "--json", env=env))["id"] == jobs[0]["id"]
    assert processes.run("jobs", "show", "not-an-id", env=env).returncode == 2
    missing = "00000000-0000-0000-0000-000000000000"
    assert "error: " in one_line_error("jobs", "retry", missing, env=env)
    assert "error: " in one_line_error("jobs", "cancel", missing, env=env)

    # The instance hosts servers, so its node registered: listed with its state and the servers it hosts.
    nodes = json.loads(ok("nodes", "list", "--json", env=env))
    assert [(node["state"], node["servers"]) for node in nodes] == [("up", 1)]  # the server "jobbed"
    assert nodes[0]["name"] in ok("nodes", "list", env=env)
    assert "Only administrators can do this." in one_line_error("nodes", "list", env=bob)


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_events_watch_prints_events_until_interrupted(instance: Instance, as_json: bool) -> None:
    env = instance.login(ADMIN)
    args = ("events", "watch", "--json") if as_json else ("events", "watch")
    with processes.start(*args, env=env, logs=instance.tmp_path / "watch") as watch:
        # The watch may connect after the first action: act until an event shows.
        deadline = time.monotonic() + 30
        attempt = 0
        while "org.created" not in watch.stdout:
            assert watch.process.poll() is None, watch.describe()
            assert time.monotonic() < deadline, watch.describe()
            attempt += 1
            ok("orgs", "create", f"Watched {attempt}", env=env)
            time.sleep(0.5)
        code, _ = watch.stop(signal.SIGINT)
        assert code == 0, watch.describe()
        assert "Traceback" not in watch.stderr
    lines = [line for line in watch.stdout.splitlines() if "org.created" in line]
    if as_json:
        event = json.loads(lines[0])
        assert event["kind"] == "org.created" and event["data"]["name"].startswith("Watched")
    else:
        assert "name=Watched" in lines[0]
