"""``--wait`` ends cleanly: the live status stream it follows is closed by the command, not left to the event
loop's shutdown (which closed the nested stream generators concurrently, and Python printed ``an error occurred
during closing of asynchronous generator … already running`` after every successful wait). The real executable
against a running ``mcphost up`` on the fake runtime."""

from __future__ import annotations

from tests.cli import processes
from tests.cli.live import Instance

TIME = "io.github.modelcontextprotocol/time"


def status_lines_only(stderr: str, slug: str) -> None:
    """stderr holds the live status lines of ``slug`` and nothing else (no warning, no traceback)."""
    assert "asynchronous generator" not in stderr, stderr
    assert "RuntimeError" not in stderr and "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "no live status was shown"
    assert all(line.startswith(f"{slug}: ") for line in lines), stderr


def test_every_wait_prints_only_the_status_lines(instance: Instance) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)

    deployed = processes.run("servers", "deploy", TIME, "--name", "clock", "--wait", env=env)
    created = processes.run("servers", "create", "pkg", "--package", "pypi:fake-server", "--wait", env=env)
    stopped = processes.run("servers", "stop", "pkg", "--wait", env=env)
    started = processes.run("servers", "start", "pkg", "--wait", env=env)
    restarted = processes.run("servers", "restart", "clock", "--wait", env=env)

    for result, slug in (
        (deployed, "clock"),
        (created, "pkg"),
        (stopped, "pkg"),
        (started, "pkg"),
        (restarted, "clock"),
    ):
        assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
        status_lines_only(result.stderr, slug)
    assert deployed.stdout.rstrip().endswith("clock is running")
    assert stopped.stdout.rstrip().endswith("pkg is stopped")
