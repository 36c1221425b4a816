"""``mcphost worker``: the background services without HTTP, for scaling out next to API replicas."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.cli import processes


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_worker_runs_the_services_until_a_signal(
    home: Path, cli_env: dict[str, str], tmp_path: Path, sig: signal.Signals
) -> None:
    with processes.start("worker", "--home", str(home), env=cli_env, logs=tmp_path) as worker:
        worker.wait_for(lambda: "mcphost worker running" in worker.stderr, "the worker's 'running' line")
        code, took = worker.stop(sig)

    assert code == 0, worker.describe()
    assert took < 15
    assert "job-worker" in worker.stderr and "maintenance" in worker.stderr
    assert "service job-worker stopped" in worker.stderr
    assert "Traceback" not in worker.stderr
