"""Debian's ``docker-registry`` (the CNCF distribution registry) on a loopback port with htpasswd authentication. The
Docker engine treats 127.0.0.0/8 registries as insecure-allowed, so plain HTTP works. The registry reads its htpasswd
file again when it changes: ``set_password`` makes credentials expire while it runs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.builds.gitrepos import free_port, wait_for_port

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)


@dataclass
class Registry:
    port: int
    htpasswd: Path
    username: str
    password: str

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_password(self, password: str) -> None:
        self.htpasswd.write_text(_htpasswd_line(self.username, password))
        self.password = password

    def manifest_digest(self, repository: str, tag: str) -> str:
        """The digest the registry itself reports for ``repository:tag``."""
        response = httpx.get(
            f"http://{self.endpoint}/v2/{repository}/manifests/{tag}",
            headers={"Accept": MANIFEST_TYPES},
            auth=(self.username, self.password),
        )
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"]


def _htpasswd_line(username: str, password: str) -> str:
    return (
        subprocess.run(
            ["htpasswd", "-Bbn", username, password], check=True, capture_output=True, text=True
        ).stdout.strip()
        + "\n"
    )


@contextmanager
def registry(
    directory: Path,
    storage: Path,
    username: str = "builder",
    password: str = "first-password",  # noqa: S107
) -> Iterator[Registry]:
    """A registry for one test; ``storage`` (its blobs) may be shared so layers pushed once are not pushed again."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    running = Registry(port, directory / "htpasswd", username, password)
    running.set_password(password)
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: test-only-secret\n"
        f"auth:\n  htpasswd:\n    realm: mcphost-test\n    path: {running.htpasswd}\n"
    )
    with (directory / "registry.log").open("w") as log:
        process = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(config)], stdout=log, stderr=log)
    try:
        wait_for_port(port)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=10)
