"""``mcphost servers files ls|put|get|rm``: the real executable against a running ``mcphost up``; a file goes up and
comes back byte for byte (bigger than the API's JSON body limit), the listing shows its checksum, and errors are
one clear line."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.cli import processes
from tests.cli.conftest import cli_env, home, instance  # noqa: F401 (fixtures)
from tests.cli.live import Instance, ok, one_line_error


def test_put_ls_get_rm(instance: Instance, tmp_path: Path) -> None:  # noqa: F811
    env = instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)
    slug = instance.server["slug"]
    local = tmp_path / "model.bin"
    local.write_bytes(os.urandom(3 * 1024 * 1024))
    digest = hashlib.sha256(local.read_bytes()).hexdigest()

    put = ok("servers", "files", "put", slug, str(local), "models/", env=env)
    listed = json.loads(ok("servers", "files", "ls", slug, "models", "--json", env=env))
    table = ok("servers", "files", "ls", slug, "models", env=env)
    got = ok("servers", "files", "get", slug, "models/model.bin", str(tmp_path / "back.bin"), env=env)
    missing = one_line_error(processes.run("servers", "files", "get", slug, "nope.txt", env=env))
    traversal = one_line_error(processes.run("servers", "files", "get", slug, "../../secret.key", env=env))
    removed = ok("servers", "files", "rm", slug, "models", "-r", "--yes", env=env)
    after = json.loads(ok("servers", "files", "ls", slug, "--json", env=env))

    assert f"uploaded /data/models/model.bin (3.0 MiB, sha256 {digest})" in put
    assert [(e["name"], e["sha256"]) for e in listed["entries"]] == [("model.bin", digest)]
    assert "model.bin" in table and digest[:12] in table
    assert "downloaded" in got and (tmp_path / "back.bin").read_bytes() == local.read_bytes()
    assert "No file nope.txt" in missing
    assert "Invalid file path" in traversal
    assert "deleted directory /data/models" in removed
    assert after["entries"] == []
