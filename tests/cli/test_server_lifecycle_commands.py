"""Deploying and watching servers from the terminal (``servers deploy|create --wait``, ``start|stop|restart
--wait``, ``logs -f``, ``keys``, ``metrics``): the real executable against a running ``mcphost up`` whose servers
run on the fake runtime (any package installs at once there; the package ``missing-package`` fails)."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import httpx

from tests.cli import processes
from tests.cli.live import Instance, ok
from tests.support.waiting import until

TIME = "io.github.modelcontextprotocol/time"
REDIS = "io.github.modelcontextprotocol/redis"


def logged_in(instance: Instance) -> dict[str, str]:
    return instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)


def show(slug: str, env: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(ok("servers", "show", slug, "--json", env=env)))


def test_deploy_from_the_catalog_waits_until_running_and_its_key_works(instance: Instance) -> None:
    env = logged_in(instance)

    result = processes.run("servers", "deploy", TIME, "--name", "clock", "--wait", env=env)

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert "running" in result.stderr  # the live status, on stderr
    assert result.stdout.rstrip().endswith("clock is running")
    key = next(line.split()[-1] for line in result.stdout.splitlines() if line.startswith("access key:"))
    endpoint = next(line.split()[-1] for line in result.stdout.splitlines() if line.startswith("endpoint:"))
    assert show("clock", env)["status"] == "running"
    assert show("clock", env)["source"]["name"] == TIME
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}
    answer = httpx.post(endpoint, json=initialize, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text


def test_deploy_without_a_terminal_names_the_missing_inputs(instance: Instance) -> None:
    env = logged_in(instance)

    missing = processes.run("servers", "deploy", REDIS, env=env)

    assert missing.returncode == 2, f"{missing.stdout}\n{missing.stderr}"
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "REDIS_URL" in lines[0] and "--secret" in lines[0]
    assert [s["slug"] for s in json.loads(ok("servers", "list", "--json", env=env))] == [instance.server["slug"]]

    given = ok("servers", "deploy", REDIS, "--set", "REDIS_URL=redis://cache:6379", "--json", env=env)
    created = json.loads(given)
    assert created["secret_env"] == ["REDIS_URL"]  # an input the entry marks secret is stored sealed
    assert created["access_key"]


def test_create_a_failing_package_ends_the_wait_with_its_reason(instance: Instance) -> None:
    env = logged_in(instance)

    result = processes.run("servers", "create", "broken", "--package", "pypi:missing-package", "--wait", env=env)

    assert result.returncode == 1, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: broken failed:") and "missing-package was not found" in last
    assert show("broken", env)["status"] == "error"

    created = processes.run(
        "servers", "create", "works", "--package", "pypi:fake-server==1.0", "--env", "A=1", "--wait", env=env
    )
    assert created.returncode == 0, created.stderr
    assert show("works", env)["env"] == {"A": "1"}
    assert show("works", env)["source"]["version"] == "1.0"
    usage = processes.run("servers", "create", "both", "--package", "pypi:x", "--command", "x", env=env)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_stop_start_restart_redeploy_wait_until_settled(instance: Instance) -> None:
    env = logged_in(instance)
    slug = instance.server["slug"]

    assert ok("servers", "stop", slug, "--wait", env=env).rstrip().endswith(f"{slug} is stopped")
    assert show(slug, env)["status"] == "stopped"
    assert ok("servers", "start", slug, "--wait", env=env).rstrip().endswith(f"{slug} is running")
    assert show(slug, env)["status"] == "running"
    restarted = processes.run("servers", "restart", slug, "--wait", env=env)
    assert restarted.returncode == 0, restarted.stderr
    assert "starting" in restarted.stderr  # it went through a start, not just the running it began in
    redeployed = processes.run("servers", "redeploy", slug, "--wait", "--no-cache", "--pull", env=env)
    assert redeployed.returncode == 0, redeployed.stderr
    assert "updating (revision 2: installing; revision 1 serves meanwhile)" in redeployed.stderr  # no downtime
    assert show(slug, env)["status"] == "running"
    assert ok("servers", "start", slug, "--wait", "--timeout", "5", env=env).rstrip().endswith("is running")


def test_logs_follow_prints_new_lines_until_interrupted(instance: Instance, tmp_path: Any) -> None:
    env = logged_in(instance)
    slug = instance.server["slug"]

    with processes.start("servers", "logs", slug, "-f", env=env, logs=tmp_path / "follow") as follow:
        follow.wait_for(lambda: "preparing fake-server" in follow.stdout, "the existing lines")
        before = follow.stdout.count("preparing fake-server")
        ok("servers", "redeploy", slug, env=env)  # prepares the package again: a new platform line
        follow.wait_for(lambda: follow.stdout.count("preparing fake-server") > before, "a new line")
        code, _ = follow.stop(signal.SIGINT)

    assert code == 0, follow.describe()
    assert "Traceback" not in follow.stderr


def test_metrics_follow_prints_each_new_event_until_interrupted(instance: Instance, tmp_path: Any) -> None:
    env = logged_in(instance)
    slug = instance.server["slug"]

    with processes.start("servers", "metrics", slug, "-f", "--json", env=env, logs=tmp_path / "usage") as follow:
        for _ in range(10):  # the stream may open after the first restart: restart until an event shows
            ok("servers", "restart", slug, "--wait", env=env)
            deadline = time.monotonic() + 3
            while '"usage": "start"' not in follow.stdout and time.monotonic() < deadline:
                time.sleep(0.1)
            if '"usage": "start"' in follow.stdout:
                break
        code, _ = follow.stop(signal.SIGINT)

    started = next(json.loads(line) for line in follow.stdout.splitlines() if '"usage": "start"' in line)
    assert started["kind"] == "server.usage" and started["data"]["slug"] == slug
    assert code == 0, follow.describe()


def test_access_keys_and_metrics(instance: Instance) -> None:
    env = logged_in(instance)
    slug = instance.server["slug"]

    created = ok("servers", "keys", "create", slug, "--name", "laptop", env=env).splitlines()
    key_id = created[0].split("(")[1].rstrip("):")
    secret_key = created[1]
    listed = json.loads(ok("servers", "keys", "list", slug, "--json", env=env))
    assert {k["name"] for k in listed} == {"default", "laptop"}
    assert all(secret_key not in json.dumps(k) for k in listed)
    assert "laptop" in ok("servers", "keys", "list", slug, env=env)
    assert f"key {key_id} revoked" in ok("servers", "keys", "revoke", slug, key_id, env=env)
    revoked = next(k for k in json.loads(ok("servers", "keys", "list", slug, "--json", env=env)) if k["id"] == key_id)
    assert revoked["revoked_at"] is not None

    metrics = until(
        lambda: (m := json.loads(ok("servers", "metrics", slug, "--json", env=env)))["totals"].get("start") and m,
        "a start in the metrics",
    )
    assert metrics["totals"]["create"] == 1 and metrics["interval"] == "hour"
    table = ok("servers", "metrics", slug, "--interval", "minute", env=env)
    assert "per minute" in table and "START" in table and "create" in table


def test_deploy_on_a_terminal_asks_for_a_secret_without_echo(instance: Instance) -> None:
    import os
    import pty
    import select
    import subprocess
    import time

    env = logged_in(instance)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [processes.executable("mcphost"), "servers", "deploy", REDIS, "--name", "cache"],
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"REDIS_URL" not in seen and time.monotonic() < deadline:
            seen += os.read(leader, 4096)
        assert b"REDIS_URL" in seen, seen
        time.sleep(1.0)  # the prompt is printed before echo is turned off (which discards early typing)
        os.write(leader, b"redis://secret-host:6379\n")
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.1)[0]:
                try:
                    seen += os.read(leader, 4096)
                except OSError:  # the terminal closed with the process
                    break
        assert process.wait(5) == 0, seen
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    assert b"secret-host" not in seen  # not echoed
    assert b"access key:" in seen
    assert show("cache", env)["secret_env"] == ["REDIS_URL"]
