"""``mcphost evals`` as a user runs it: the real executable against a running ``mcphost up`` whose server runs on
the fake runtime (its ``echo`` answers its ``text``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli import processes
from tests.cli.conftest import CHEAP_HASHING
from tests.cli.live import Instance, ok, one_line_error, running_instance
from tests.support.waiting import until


@pytest.fixture
def instance(tmp_path: Path, database_url: str) -> Iterator[Instance]:
    extra = dict(CHEAP_HASHING)
    if not database_url.startswith("sqlite"):
        extra["MCPHOST_DATABASE_URL"] = database_url
    yield from running_instance(tmp_path / "home", processes.environment(**extra), tmp_path)


def test_create_add_run_results_record_and_scoreboard(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)
    slug = instance.server["slug"]

    created = ok("evals", "create", "smoke", "--every", "60", env=env)
    ok("evals", "cases", "add", "smoke", "-s", slug, "-t", "echo", "--args", '{"text": "pong"}', "-e", "pong", env=env)
    ok(
        "evals",
        "cases",
        "add",
        "smoke",
        "-s",
        slug,
        "-t",
        "echo",
        "--args",
        '{"text": "pang"}',
        "-e",
        "pong",
        "--mode",
        "similarity",
        "--threshold",
        "0.95",
        "--name",
        "close",
        env=env,
    )
    unknown = one_line_error(
        processes.run("evals", "cases", "add", "smoke", "-s", slug, "-t", "nope", "-e", "x", env=env)
    )
    failed_run = processes.run("evals", "run", "smoke", env=env)
    results = ok("evals", "results", "smoke", env=env)
    board = ok("evals", "scoreboard", env=env)
    listed = ok("evals", "list", env=env)

    assert "Created suite smoke" in created
    assert "has no tool 'nope'" in unknown and "crash, echo" in unknown
    assert failed_run.returncode == 1, failed_run.stderr
    assert "1/2 passed" in failed_run.stdout and "close" in failed_run.stdout and "fail" in failed_run.stdout
    assert "1/2 passed" in results and "0.850" in results  # Jaro-Winkler of pong and pang
    assert slug in board and "50%" in board and "smoke" in board
    assert "smoke" in listed and "every 60 min" in listed

    since = datetime.now(UTC).isoformat()
    with instance.api() as api:
        call = {"method": "tools/call", "params": {"name": "echo", "arguments": {"text": "recorded"}}}
        assert api.post(f"/api/servers/{instance.server['id']}/invoke", json=call).status_code == 200
        records = f"/api/servers/{instance.server['id']}/invocations"
        # Two calls of the first suite's run, and this one.
        until(lambda: len(api.get(records, params={"tool": "echo"}).json()["items"]) >= 3, "the recorded call")
    ok("evals", "create", "replay", env=env)
    recorded = processes.run("evals", "record", "replay", "-s", slug, "-t", "echo", "--since", since, env=env)
    passed = json.loads(ok("evals", "run", "replay", "--json", env=env))

    assert "Recorded 1 cases" in recorded.stdout, recorded.stdout + recorded.stderr
    assert passed["status"] == "passed" and passed["results"][0]["actual"] == "recorded"
