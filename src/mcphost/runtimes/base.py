"""The runtime interface, shaped for every backend:

- process: installs PyPI/npm packages into cached environments and runs them under bubblewrap;
- docker: images (and git builds) as containers with CPU/memory limits and GPU device requests;
- kubernetes: pods in a namespace, with a service account and an image pull secret;
- vm: a hypervisor API that boots an image, with attestation evidence checked before traffic.

A runtime turns a ``Source`` into an ``Artifact`` (``prepare``: install, pull, build), then starts
``Instance``s of it from a ``LaunchSpec``. An instance exposes the MCP channel the gateway talks to (its stdio
pipes, or a URL), its log lines, and its exit. The lifecycle layer above decides when to do what; a runtime
only does what it is told and says what it could not enforce.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

Progress = Callable[[str], Awaitable[None]]
Transport = Literal["stdio", "streamable-http"]
#: The phases of a long ``prepare`` that users see as the server's status.
BuildPhase = Literal["cloning", "building", "pushing"]


class RuntimeFailure(Exception):
    """A runtime could not do what it was asked; the message is shown to the user."""


class PrepareFailed(RuntimeFailure):
    """Installing, pulling or building failed (bad package name, registry unreachable, build error)."""


class StartFailed(RuntimeFailure):
    """The server could not be started (program missing, sandbox refused, no free resources)."""


@dataclass(frozen=True)
class Limits:
    cpu: float | None = None
    memory_mib: int | None = None
    gpu: int = 0
    network: Literal["default", "none"] = "default"


@dataclass(frozen=True)
class Artifact:
    """What ``prepare`` produced: everything needed to start instances without preparing again."""

    argv: tuple[str, ...] = ()
    transport: Transport = "stdio"
    url: str | None = None
    image: str | None = None
    mounts: tuple[Path, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LaunchSpec:
    server_id: uuid.UUID
    slug: str
    instance_key: str
    artifact: Artifact
    env: dict[str, str]
    data_dir: Path
    limits: Limits


@dataclass(frozen=True)
class PrepareReporter:
    """Where a long ``prepare`` (a git checkout, an image build, a push) reports beyond its log lines: the phase it is
    in (shown as the server's status) and telemetry events (recorded as the server's usage events, e.g.
    ``push_retry`` with its attempt and error kind)."""

    phase: Callable[[BuildPhase], Awaitable[None]]
    event: Callable[[str, dict[str, Any]], Awaitable[None]]


# A context variable rather than a parameter of ``prepare``: only the runtimes that build need it, and every caller
# that does not set one (tests, tools) gets the silent default.
_reporter: ContextVar[PrepareReporter | None] = ContextVar("mcphost_prepare_reporter", default=None)


@contextmanager
def reporting(reporter: PrepareReporter) -> Iterator[None]:
    """Send the phases and events of the ``prepare`` calls made inside this block to ``reporter``."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


async def report_phase(phase: BuildPhase) -> None:
    if (reporter := _reporter.get()) is not None:
        await reporter.phase(phase)


async def report_event(kind: str, payload: dict[str, Any]) -> None:
    if (reporter := _reporter.get()) is not None:
        await reporter.event(kind, payload)


class Instance(ABC):
    """One running copy of a server."""

    id: str
    transport: Transport

    @property
    @abstractmethod
    def stdio(self) -> tuple[Any, Any] | None:
        """(reader, writer) of the MCP channel for stdio servers: asyncio StreamReader/StreamWriter-like."""

    @property
    def url(self) -> str | None:
        """The MCP endpoint of a streamable-http server."""
        return None

    @property
    def headers(self) -> dict[str, str]:
        """Headers every request to ``url`` carries (e.g. the bearer token of a pod's stdio bridge)."""
        return {}

    @property
    def reach(self) -> Literal["host", "cluster"]:
        """Who can open ``url``: replicas on this machine only (``host``: loopback and container addresses) or every
        replica (``cluster``: a pod's Service name)."""
        return "host"

    @abstractmethod
    def log_lines(self) -> AsyncIterator[str]:
        """The server's diagnostic output (stderr), one line at a time, until it exits."""

    @abstractmethod
    async def wait(self) -> int:
        """Wait for the instance to exit; its exit code (negative: killed by that signal)."""

    @property
    @abstractmethod
    def exit_code(self) -> int | None:
        """The exit code once it has exited, else None."""

    @property
    def exit_reason(self) -> str | None:
        """Why it exited, in words, when the runtime knows more than the code (e.g. killed for its memory)."""
        return None

    @abstractmethod
    async def stop(self, grace: float) -> int:
        """Ask it to stop, kill it (and everything it started) after ``grace`` seconds; its exit code."""


class Runtime(ABC):
    type: ClassVar[str]
    #: Source types (package, command, image, git) this runtime can run.
    source_types: ClassVar[frozenset[str]]
    #: Limits it enforces on every host; ``enforced_for`` refines this for the host it runs on.
    enforces: ClassVar[frozenset[str]] = frozenset()

    @property
    def warnings(self) -> list[str]:
        """What holds for every server of this runtime that users should know (e.g. no sandbox)."""
        return []

    @property
    def isolates_instances(self) -> bool:
        """Whether two instances of one server cannot see each other's processes (and so their environment): what
        giving each user's instance that user's own credentials relies on."""
        return True

    def enforced_for(self, artifact: Artifact | None = None) -> frozenset[str]:
        """Limits this runtime enforces on this host, for this program."""
        return self.enforces

    def warnings_for(self, limits: Limits, artifact: Artifact | None = None) -> list[str]:
        """The runtime's warnings, and what the user asked for that it cannot honour, in words."""
        enforced = self.enforced_for(artifact)
        wanted = {
            "cpu": limits.cpu is not None,
            "memory": limits.memory_mib is not None,
            "gpu": limits.gpu > 0,
            "network_none": limits.network == "none",
        }
        names = {"cpu": "CPU limit", "memory": "memory limit", "gpu": "GPU", "network_none": "network: none"}
        return [*self.warnings] + [
            f"{names[key]} is not enforced by the {self.type} runtime"
            for key, asked in wanted.items()
            if asked and key not in enforced
        ]

    @abstractmethod
    async def prepare(self, source: dict[str, Any], progress: Progress) -> Artifact:
        """Install, pull or build what the source names; cached, so preparing twice is cheap. A redeploy passes
        ``refresh: True`` in the source: rebuild or re-pull what can change under the same name (an image tag, a
        git branch); an unpinned package is resolved to its newest version every time anyway."""

    @abstractmethod
    async def start(self, spec: LaunchSpec) -> Instance:
        """Start an instance; returns once the process/container exists (not once it speaks MCP)."""

    async def forget(self, server_id: str) -> None:  # noqa: B027 (an optional hook)
        """Remove what the runtime keeps for a deleted server beyond its instances (Kubernetes: its objects)."""

    async def close(self) -> None:  # noqa: B027 (an optional hook)
        """Release what the runtime holds (connections, caches)."""
