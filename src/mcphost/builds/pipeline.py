"""``build_from_git``: a git source to an image the Docker runtime can start — cloning, building, pushing.

The phases are reported (``report_phase``) as the server's status, the output of every step goes to ``progress``
(the server's logs) and the telemetry events (``report_event``) are listed in docs/builds.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker

from mcphost.builds.checkout import checkout
from mcphost.builds.image_build import BuildRequest, build_image
from mcphost.builds.plan import plan_build
from mcphost.builds.registry_push import CredentialSource, credentials_from_settings, push_image
from mcphost.builds.source import GitSource, display_url
from mcphost.runtimes.base import PrepareFailed, Progress, Transport, report_phase
from mcphost.settings import BuildSettings

__all__ = ["BuiltImage", "build_from_git", "image_name"]


@dataclass(frozen=True)
class BuiltImage:
    """What a build produced.

    ``image`` is what to run: the pushed reference pinned by digest (``HOST/NAMESPACE/NAME@sha256:…``) when a registry
    is configured, else the local tag. ``digest`` is the registry's manifest digest when pushed, else the image ID.
    ``port`` is the source's port, else the first TCP port the Dockerfile or its base image exposes; ``transport`` the
    source's, else a guess (``streamable-http`` when there is a port, ``stdio`` otherwise)."""

    image: str
    local_tag: str
    image_id: str
    digest: str
    commit: str
    port: int | None
    transport: Transport
    warnings: tuple[str, ...]
    dockerfile: str  # where the Dockerfile came from: its path in the repository, or "generated (…)"
    cached: bool
    pushed: bool


async def build_from_git(
    source: Mapping[str, Any],
    client: docker.DockerClient,
    settings: BuildSettings,
    progress: Progress,
    *,
    name: str | None = None,
    credentials: CredentialSource | None = None,
) -> BuiltImage:
    """Check out ``source`` (a ``git`` source), build its image and push it when ``settings.registry`` names a
    registry. ``name`` (the server's slug) names the image (default: the repository's name); ``credentials`` replaces
    the registry credentials of the settings (e.g. a secret store that can hand out fresh ones).
    Raises ``PrepareFailed`` with a message for the user."""
    git = GitSource.parse(source, frozenset(settings.allow_git_schemes))
    repository = image_name(name or git.repository_name)
    await report_phase("cloning")
    async with checkout(git, settings, progress) as done:
        plan = plan_build(done.root, done.context, git, settings)
        await progress(f"Dockerfile: {plan.origin}")
        for warning in plan.warnings:
            await progress(f"warning: {warning}")
        await report_phase("building")
        request = BuildRequest(
            root=done.root, context=done.context, dockerfile=plan.dockerfile,
            tag=f"{settings.image_prefix}/{repository}:{done.commit[:12]}", commit=done.commit,
            fingerprint=plan.fingerprint(git.subdir), source_url=display_url(git.url),
            pull=git.pull, nocache=git.no_cache, reuse=not git.no_cache,
            timeout=settings.build_timeout_seconds,
        )  # fmt: skip
        local = await build_image(client, request, progress)
    warnings = list(plan.warnings)
    port = plan.port
    if port is None and not plan.generated and local.exposed_tcp_ports:
        port = local.exposed_tcp_ports[0]
        warnings.append(f"port {port} is exposed by the base image, not by {plan.origin}")
    transport = _transport(git, port)
    if transport == "streamable-http" and port is None:
        raise PrepareFailed(
            f"{plan.origin} exposes no port, and a streamable-http server needs one: EXPOSE it in the Dockerfile "
            "or set the source's port"
        )
    image, digest, pushed = local.tag, local.image_id, False
    if settings.registry.host:
        await report_phase("pushing")
        result = await push_image(
            client, local.tag, repository, done.commit[:12], settings.registry,
            credentials or credentials_from_settings(settings.registry), progress,
        )  # fmt: skip
        image, digest, pushed = result.reference, result.digest, True
    return BuiltImage(
        image=image, local_tag=local.tag, image_id=local.image_id, digest=digest, commit=done.commit, port=port,
        transport=transport, warnings=tuple(warnings), dockerfile=plan.origin, cached=local.cached, pushed=pushed,
    )  # fmt: skip


def image_name(name: str) -> str:
    """A repository name Docker accepts: lower case, [a-z0-9] separated by single '.', '_' or '-'."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", name.lower())
    cleaned = re.sub(r"[._-]{2,}", "-", cleaned).strip("._-")
    return cleaned[:128] or "server"


def _transport(git: GitSource, port: int | None) -> Transport:
    if git.transport in ("stdio", "streamable-http"):
        return git.transport  # type: ignore[return-value]
    if git.transport is not None:
        raise PrepareFailed(f"unknown transport {git.transport!r}: stdio or streamable-http")
    return "streamable-http" if port is not None else "stdio"
