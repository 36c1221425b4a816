"""Image builds on the Docker engine through the official SDK's low-level API, the output streamed line by line
into the server's logs.

The build context is the checkout's ``subdir`` without ``.git`` and what its ``.dockerignore`` excludes; the
Dockerfile (the repository's or a generated one) is added to the context under a name of its own, so a generated
one never touches the checkout. An image is tagged ``PREFIX/NAME:COMMIT12`` and labelled with the commit and a
fingerprint of the Dockerfile and context path: a second build of the same commit reuses it unless refreshed.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import docker
import docker.errors
import requests
from docker.models.images import Image
from docker.utils import tar

from mcphost.builds.fs import inside
from mcphost.builds.streaming import StreamTimeout, iterate_in_thread
from mcphost.runtimes.base import PrepareFailed, Progress, report_event

__all__ = ["COMMIT_LABEL", "FINGERPRINT_LABEL", "BuildRequest", "LocalImage", "build_image"]

COMMIT_LABEL = "org.mcphost.commit"
FINGERPRINT_LABEL = "org.mcphost.build-fingerprint"
SOURCE_LABEL = "org.mcphost.source"
DOCKERFILE_NAME = ".mcphost.Dockerfile"
#: Lines of build output a failure message repeats (the failing step's output).
FAILURE_LINES = 25
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: The legacy builder's bookkeeping lines, left out of failure messages.
_NOISE = (" ---> ", "Removing intermediate container", "Successfully built", "Successfully tagged")


@dataclass(frozen=True)
class BuildRequest:
    root: Path  # the checkout
    context: Path  # the build context inside it
    dockerfile: str  # the Dockerfile's text
    tag: str
    commit: str
    fingerprint: str
    source_url: str  # shown, without credentials
    pull: bool = False
    nocache: bool = False
    reuse: bool = True
    timeout: float = 1800.0


@dataclass(frozen=True)
class LocalImage:
    tag: str
    image_id: str
    cached: bool  # reused from an earlier build of the same commit and Dockerfile
    exposed_tcp_ports: tuple[int, ...]  # from the image's configuration (EXPOSE, inherited ones included)
    seconds: float


async def build_image(client: docker.DockerClient, request: BuildRequest, progress: Progress) -> LocalImage:
    """Build (or reuse) the image; ``PrepareFailed`` with the failing step's output when the build fails."""
    started = time.monotonic()
    await report_event(
        "build_started",
        {"image": request.tag, "commit": request.commit, "pull": request.pull, "nocache": request.nocache},
    )
    try:
        reused = await _reusable(client, request) if request.reuse else None
        cached = reused is not None
        if reused is None:
            flags = [flag for flag, on in (("--pull", request.pull), ("--no-cache", request.nocache)) if on]
            await progress(f"Building {request.tag}" + (f" ({' '.join(flags)})" if flags else ""))
            await _build(client, request, progress)
            image = await asyncio.to_thread(client.images.get, request.tag)
        else:
            image = reused
            await progress(f"Using {request.tag}, built before from commit {request.commit[:12]}")
    except _BuildFailed as failure:
        await report_event(
            "build_failed",
            {"image": request.tag, "commit": request.commit, "error_kind": failure.kind, "step": failure.step,
             "message": failure.message[:2000], "seconds": round(time.monotonic() - started, 3)},
        )  # fmt: skip
        raise PrepareFailed(failure.message) from None
    seconds = round(time.monotonic() - started, 3)
    image_id = str(image.id)
    await report_event(
        "build_succeeded",
        {"image": request.tag, "commit": request.commit, "image_id": image_id, "cached": cached, "seconds": seconds},
    )
    ports = tuple(
        int(key.split("/")[0])
        for key in (image.attrs.get("Config", {}).get("ExposedPorts") or {})
        if key.endswith("/tcp") and key.split("/")[0].isdigit()
    )
    return LocalImage(request.tag, image_id, cached, tuple(sorted(ports)), seconds)


class _BuildFailed(Exception):
    def __init__(self, kind: str, message: str, step: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.step = kind, message, step


async def _reusable(client: docker.DockerClient, request: BuildRequest) -> Image | None:
    try:
        image = await asyncio.to_thread(client.images.get, request.tag)
    except docker.errors.ImageNotFound:
        return None
    except (docker.errors.DockerException, requests.RequestException) as error:
        raise _BuildFailed("engine", f"the Docker engine failed: {error}") from None
    labels = image.labels or {}
    if labels.get(COMMIT_LABEL) == request.commit and labels.get(FINGERPRINT_LABEL) == request.fingerprint:
        return image
    return None


async def _build(client: docker.DockerClient, request: BuildRequest, progress: Progress) -> None:
    context = await asyncio.to_thread(_context_archive, request)
    labels = {COMMIT_LABEL: request.commit, FINGERPRINT_LABEL: request.fingerprint, SOURCE_LABEL: request.source_url}
    recent: deque[str] = deque(maxlen=FAILURE_LINES)
    step: str | None = None
    pending = ""

    def produce() -> Any:
        return client.api.build(
            fileobj=context, custom_context=True, encoding=None, dockerfile=DOCKERFILE_NAME, tag=request.tag,
            labels=labels, pull=request.pull, nocache=request.nocache, rm=True, forcerm=True, decode=True,
            timeout=int(request.timeout) + 30,
        )  # fmt: skip

    try:
        async for chunk in iterate_in_thread(produce, request.timeout):
            if "stream" in chunk:
                pending += str(chunk["stream"])
                *lines, pending = pending.split("\n")
                for raw in lines:
                    line = _ANSI.sub("", raw).rstrip()
                    if not line:
                        continue
                    if line.startswith("Step "):
                        step = line
                        recent.clear()
                    if not line.startswith(_NOISE):
                        recent.append(line)
                    await progress(line)
            elif "error" in chunk or "errorDetail" in chunk:
                message = str(chunk.get("error") or chunk.get("errorDetail", {}).get("message") or "unknown error")
                if _ANSI.sub("", pending).strip():
                    recent.append(_ANSI.sub("", pending).strip())
                raise _BuildFailed("build", _failure_text(step, message, recent), step)
    except StreamTimeout:
        raise _BuildFailed(
            "timeout", f"the build timed out after {request.timeout:g} s (builds.build_timeout_seconds)", step
        ) from None
    except (docker.errors.DockerException, requests.RequestException) as error:
        message = getattr(error, "explanation", None) or f"the Docker engine failed: {error}"
        raise _BuildFailed("engine", _failure_text(step, str(message), recent), step) from None
    finally:
        context.close()


def _failure_text(step: str | None, error: str, recent: deque[str]) -> str:
    where = f"the build failed at {step.removeprefix('Step ')}" if step else "the build failed"
    output = "\n".join(line for line in recent if line != step)
    return f"{where}: {error.strip()}" + (f"\n{output}" if output else "")


def _context_archive(request: BuildRequest) -> IO[bytes]:
    """The build context as a tar file: the context directory minus .git and .dockerignore's patterns, with the
    Dockerfile added as DOCKERFILE_NAME. Symlinks are archived as links, never followed."""
    exclude = [".git", "**/.git"]
    ignore = request.context / ".dockerignore"
    if ignore.is_file():
        path = inside(request.root, ignore.relative_to(request.root).as_posix(), ".dockerignore")
        exclude += [
            line.strip() for line in path.read_text(errors="replace").splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]  # fmt: skip
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller after the build)
    tar(request.context, exclude=exclude, dockerfile=(DOCKERFILE_NAME, request.dockerfile), fileobj=archive)
    archive.seek(0)
    return archive
