"""Settings of hosted servers in containers: the Docker runtime, image builds from git and the registry they are
pushed to."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class RegistrySettings(BaseModel):
    """The image registry built images are pushed to (none: images stay in the local engine)."""

    endpoint: str | None = Field(
        None,
        description="Registry host[:port] built images are pushed to, e.g. registry.example.com or 127.0.0.1:5000 "
        "(an https:// or http:// prefix is accepted and dropped; the engine decides TLS). Unset: no push.",
    )
    namespace: str = Field(
        "mcphost", description="Repository path under the registry: images are pushed as ENDPOINT/NAMESPACE/NAME."
    )
    username: str | None = Field(None, description="User name for the registry; unset: push anonymously.")
    password: SecretStr | None = Field(
        None, description="Password or token for the registry (or password_file for one that is rotated)."
    )
    password_file: Path | None = Field(
        None,
        description="File holding the registry password or token, read again at every login: when the registry "
        "says the credentials expired, MCP Host logs in again with what the file holds then.",
    )
    push_retries: int = Field(
        4, ge=0, le=20, description="Retries of a push that failed for a passing reason (network, registry error)."
    )
    push_backoff_seconds: float = Field(
        1.0, ge=0, description="Delay before the first retry; doubles per retry, with up to 50% random jitter."
    )
    push_backoff_max_seconds: float = Field(30.0, ge=0, description="Longest delay between push attempts.")
    push_timeout_seconds: float = Field(600.0, gt=0, description="Longest single push attempt.")

    @property
    def host(self) -> str | None:
        """The endpoint as the engine names registries: host[:port], no scheme or trailing slash."""
        if not self.endpoint:
            return None
        return self.endpoint.split("://", 1)[-1].rstrip("/")


class BuildSettings(BaseModel):
    """Builds of servers from git repositories: checkout, Dockerfile generation, image build, registry push."""

    allow_git_schemes: list[Literal["http", "git", "file"]] = Field(
        default_factory=list,
        description="Git URL schemes allowed besides https (always allowed): http and git are unencrypted, file "
        "reads this machine's files. Empty: https only.",
    )
    clone_timeout_seconds: float = Field(300.0, gt=0, description="Longest git checkout (clone and fetch).")
    max_checkout_mib: int = Field(
        512, ge=1, description="Largest checkout (working tree and git data); a larger repository fails to build."
    )
    workspace_dir: Path | None = Field(
        None, description="Where temporary checkouts are made (default: the system's temporary directory)."
    )
    build_timeout_seconds: float = Field(
        1800.0, gt=0, description="Longest image build (of a git source, or of a package's image)."
    )
    image_prefix: str = Field(
        "mcphost-build", description="Local repository prefix of built images: PREFIX/NAME:COMMIT."
    )
    python_image: str = Field(
        "python:3.12-slim",
        description="Base image of generated Dockerfiles for Python projects, and of the images PyPI packages are "
        "installed into for package sources on Docker (needs python3; uv when it has it, else pip).",
    )
    node_image: str = Field(
        "node:22-slim",
        description="Base image of generated Dockerfiles for Node projects, and of the images npm packages are "
        "installed into for package sources on Docker.",
    )
    go_image: str = Field("golang:1.22-bookworm", description="Builder image of generated Dockerfiles for Go.")
    rust_image: str = Field("rust:1-slim-bookworm", description="Builder image of generated Dockerfiles for Rust.")
    runtime_image: str = Field(
        "debian:bookworm-slim",
        description="Image the compiled binary of a Go or Rust project runs in (glibc matching the builders').",
    )
    registry: RegistrySettings = Field(default_factory=RegistrySettings)


class RegistryCredential(BaseModel):
    """A login to an image registry."""

    username: str = Field(description="User name (or the token's name) at the registry.")
    password: SecretStr = Field(description="Password or access token; never shown (masked in settings output).")


class DockerSettings(BaseModel):
    """The Docker runtime: hosted servers as containers on a Docker engine (image, git and, on request, package and
    catalog sources)."""

    engine_url: str | None = Field(
        None,
        description="The engine's API, e.g. unix:///var/run/docker.sock or tcp://HOST:2375 (default: DOCKER_HOST, "
        "else the local socket).",
    )
    default_for_images: bool = Field(
        True,
        description="Run image and git sources on Docker when the engine answers (packages and commands keep the "
        "process runtime unless a server asks for runtime: docker). Without an engine, such sources are refused "
        "with the reason.",
    )
    gvisor: Literal["off", "network_none"] = Field(
        "off",
        description="Run servers whose network is 'none' under gVisor (the OCI runtime named by gvisor_runtime, "
        "registered in the engine's daemon.json with --network=none). 'off': every server uses the engine's "
        "default runtime.",
    )
    gvisor_runtime: str = Field("runsc", description="The engine's name for the gVisor runtime.")
    stdio_channel: Literal["fifo", "attach"] = Field(
        "fifo",
        description="How MCP reaches a stdio server in a container: 'fifo', two named pipes (the image's /bin/sh "
        "redirects the server's stdin and stdout; needs a shell in the image and runc, else the attach socket), or "
        "'attach', the engine's attach socket (every message through dockerd).",
    )
    network: str = Field(
        "mcphost",
        description="The bridge network servers with network access join (created when missing; containers on it "
        "cannot reach each other).",
    )
    bridge_name: str = Field(
        "mcphost0",
        max_length=15,
        description="The host interface of that network; traffic from it to this host is dropped (isolate_host).",
    )
    isolate_host: bool = Field(
        True,
        description="Drop connections from containers to this host's own addresses (the bridge gateway included), "
        "with an iptables rule on the bridge; needs root. Answers to connections the platform opened pass.",
    )
    pids_limit: int = Field(256, ge=8, description="Processes and threads one container may have.")
    tmpfs_mib: int = Field(64, ge=1, description="Size of the writable /tmp of a container (MiB, in memory).")
    default_user: str = Field(
        "65534:65534",
        pattern=r"^[0-9]+:[0-9]+$",
        description="uid:gid a container runs as when its image names no user or root (nobody).",
    )
    registries: dict[str, RegistryCredential] = Field(
        default_factory=dict,
        description='Logins by registry host (e.g. {"ghcr.io": {"username": …, "password": …}}) used to pull '
        "images; a source's own registry_auth wins.",
    )
    pull_timeout_seconds: float = Field(600.0, gt=0, description="Longest pull of an image.")
