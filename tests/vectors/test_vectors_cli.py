"""``mcphost vectors`` and ``mcphost ingest`` as a user runs them: the real executable against a running ``mcphost up``
whose vector databases run as Chroma processes. A database is created (the command waits until it runs), filled from
local files with a progress bar, listed, shown and searched; mistakes are one clear line; a job with a
document that cannot be read exits 1 and says which; the job record and the database are deleted."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cli import processes
from tests.cli.conftest import CHEAP_HASHING
from tests.cli.live import Instance, ok, one_line_error, running_instance


@pytest.fixture
def instance(tmp_path: Path, database_url: str) -> Iterator[Instance]:
    extra = CHEAP_HASHING | {"MCPHOST_VECTORS__RUNTIME": "process", "MCPHOST_VECTORS__CHECK_INTERVAL_SECONDS": "0.2"}
    if not database_url.startswith("sqlite"):
        extra["MCPHOST_DATABASE_URL"] = database_url
    yield from running_instance(tmp_path / "home", processes.environment(**extra), tmp_path)


def _all(env: dict[str, str], *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Run independent commands side by side (each is a Python start-up); their results in order."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: processes.run(*args, env=env), commands))


def _stdout(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def test_create_ingest_search_and_delete(instance: Instance, tmp_path: Path) -> None:
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)
    bread, pods, broken = tmp_path / "bread.md", tmp_path / "pods.txt", tmp_path / "broken.pdf"
    bread.write_text("# Sourdough\n\nFeed the starter with flour and water, let the dough rise overnight, bake it hot.")
    pods.write_text("Kubernetes schedules pods onto nodes; a Deployment keeps replicas running.")
    broken.write_bytes(b"not a pdf at all")

    created = json.loads(ok("vectors", "create", "kb", "--json", env=env))
    assert created["name"] == "kb" and created["status"] == "running", created
    assert "Created collection notes." in ok("vectors", "collection", "create", "kb", "notes", env=env)

    # One document cannot be read: the others are stored, the command says which failed and exits 1.
    files = ("-f", str(bread), "-f", str(pods), "-f", str(broken))
    ingested = processes.run("ingest", "start", "kb", "docs", *files, env=env)
    assert ingested.returncode == 1, ingested.stdout + ingested.stderr
    job_line = ingested.stdout.splitlines()[0]
    size = len(bread.read_bytes()) + len(pods.read_bytes())
    assert job_line.endswith(f": partial — 2 documents (0 unchanged), 1 failed, 2 chunks, {size} B"), ingested.stdout
    assert "✗ upload/broken.pdf: " in ingested.stdout and "PDF" in ingested.stdout
    job_id = job_line.split()[1].rstrip(":")

    listed, shown, found, documents, jobs, unknown = _all(
        env,
        ("vectors", "ls"),
        ("vectors", "show", "kb"),
        ("vectors", "query", "kb", "docs", "baking bread at home", "-k", "1", "--json"),
        ("vectors", "documents", "kb", "docs"),
        ("ingest", "ls", "--db", "kb"),
        ("vectors", "query", "kb", "nope-nope", "anything"),
    )
    assert "kb" in _stdout(listed) and "running" in listed.stdout and created["id"][:8] in listed.stdout
    assert "2 vectors in 2 collections" in _stdout(shown) and "docs: 2 vectors" in shown.stdout
    [hit] = json.loads(_stdout(found))
    assert hit["source"] == "upload/bread.md" and hit["title"] == "Sourdough"
    assert "upload/bread.md  1 chunks" in _stdout(documents) and "upload/pods.txt  1 chunks" in documents.stdout
    assert job_id in _stdout(jobs) and "partial" in jobs.stdout
    assert "nope-nope" in one_line_error(unknown)

    assert f"Deleted job {job_id}." in ok("ingest", "rm", job_id, env=env)
    assert "Deleted kb." in ok("vectors", "rm", "kb", "--yes", env=env)
    with instance.api() as api:
        assert api.get("/api/vector-dbs").json() == []
