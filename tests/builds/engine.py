"""The Docker engine for the build tests: a client, the local base images, the Go and Rust builder images (made once
from the Debian base and kept by tag: they take minutes), and a recorder of build phases and events."""

from __future__ import annotations

import contextlib
import io
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

from mcphost.runtimes.base import BuildPhase, PrepareReporter

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGES = ("mcphost-base/debian:bookworm", "mcphost-base/python:bookworm", "mcphost-base/node:bookworm")
BUILDERS = {
    "mcphost-test/go:bookworm": "golang-go",
    "mcphost-test/rust:bookworm": "cargo",
}


def engine() -> docker.DockerClient | None:
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException:
        return None
    return client


def ensure_base_images(client: docker.DockerClient) -> None:
    """The base images scripts/docker_base_images.sh makes (cached by recipe; a second or minutes)."""
    missing = [tag for tag in BASE_IMAGES if not client.images.list(name=tag)]
    if missing:
        subprocess.run(["bash", str(REPO / "scripts" / "docker_base_images.sh")], check=True, capture_output=True)


def ensure_builder(client: docker.DockerClient, tag: str) -> str:
    """A builder image with a Debian toolchain package (golang-go, cargo) FROM the Debian base, kept by tag."""
    if client.images.list(name=tag):
        return tag
    dockerfile = (
        "FROM mcphost-base/debian:bookworm\n"
        "ENV DEBIAN_FRONTEND=noninteractive\n"
        f"RUN apt-get update -q && apt-get install -y -q --no-install-recommends {BUILDERS[tag]} "
        "&& rm -rf /var/lib/apt/lists/*\n"
    )
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True)
    return tag


@dataclass
class Recorder:
    """Phases and telemetry events of a build, as the lifecycle would receive them."""

    phases: list[BuildPhase] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def phase(self, phase: BuildPhase) -> None:
        self.phases.append(phase)

    async def event(self, kind: str, payload: dict[str, Any]) -> None:
        self.events.append((kind, payload))

    @property
    def reporter(self) -> PrepareReporter:
        return PrepareReporter(phase=self.phase, event=self.event)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.events if name == kind]


def remove_images(client: docker.DockerClient, tag_prefix: str, source_prefix: str | None = None) -> None:
    """Remove the images tagged ``tag_prefix…`` and the untagged builds whose source label starts with
    ``source_prefix`` (an image rebuilt on refresh leaves its predecessor untagged)."""
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith(tag_prefix):
                with contextlib.suppress(docker.errors.DockerException):
                    client.images.remove(tag, force=True)
    if source_prefix is None:
        return
    for image in client.images.list(filters={"dangling": True, "label": "org.mcphost.commit"}):
        if (image.labels or {}).get("org.mcphost.source", "").startswith(source_prefix):
            with contextlib.suppress(docker.errors.DockerException):
                client.images.remove(image.id, force=True)
