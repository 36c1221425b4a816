"""The runtimes this instance can use, keyed by type, created on first use, and which one a new server gets."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mcphost.runtimes.base import Runtime

if TYPE_CHECKING:
    from mcphost.settings import Settings

RUNTIME_CLASSES = {
    "process": "mcphost.runtimes.process:ProcessRuntime",
    "docker": "mcphost.runtimes.docker:DockerRuntime",
    "kubernetes": "mcphost.runtimes.kubernetes:KubernetesRuntime",
    "fake": "mcphost.runtimes.fake:FakeRuntime",
}
#: Sources that run as containers: Docker is their default when an engine answers (docker.default_for_images).
CONTAINER_SOURCES = frozenset({"image", "git"})


def runtime_class(runtime_type: str) -> type[Runtime]:
    try:
        module_name, _, class_name = RUNTIME_CLASSES[runtime_type].partition(":")
    except KeyError:
        raise ValueError(f"unknown runtime {runtime_type!r}; known: {', '.join(RUNTIME_CLASSES)}") from None
    runtime: type[Runtime] = getattr(importlib.import_module(module_name), class_name)
    return runtime


class Runtimes:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.configured = [settings.runtime.default]
        self._instances: dict[str, Runtime] = {}

    def get(self, runtime_type: str) -> Runtime:
        if runtime_type not in self._instances:
            self._instances[runtime_type] = runtime_class(runtime_type)(self.settings)  # type: ignore[call-arg]
        return self._instances[runtime_type]

    def for_source(self, source_type: str, wanted: str | None = None) -> str | None:
        """The runtime a new server of this kind of source gets: the one it asks for (``wanted``) when that can run
        it here, else Docker for image and git sources (when configured and an engine answers), else the first
        configured runtime that can run it."""
        if wanted is not None:
            return wanted if self.why_not(source_type, wanted) is None else None
        docker_default = source_type in CONTAINER_SOURCES and self.settings.docker.default_for_images
        if docker_default and self.why_not(source_type, "docker") is None:
            return "docker"
        return next((t for t in self.configured if source_type in runtime_class(t).source_types), None)

    def why_not(self, source_type: str, runtime_type: str) -> str | None:
        """Why ``runtime_type`` cannot run this kind of source here (unknown, unsupported, no engine), or None."""
        if runtime_type not in RUNTIME_CLASSES or (runtime_type == "fake" and "fake" not in self.configured):
            return f"unknown runtime {runtime_type!r}; known: {', '.join(t for t in RUNTIME_CLASSES if t != 'fake')}"
        if source_type not in runtime_class(runtime_type).source_types:
            return f"the {runtime_type} runtime cannot run {source_type} sources"
        problem = getattr(self.get(runtime_type), "problem", None)
        return problem() if callable(problem) else None

    async def remove_leftovers(self) -> None:
        """At a node's start: runtimes whose work outlives the platform (containers) remove what an earlier run left.
        Only runtimes in use are asked (Docker: when it is the default for images, or configured)."""
        if self.settings.docker.default_for_images or "docker" in self.configured:
            runtime = self.get("docker")
            remove = getattr(runtime, "remove_leftovers", None)
            if remove is not None:
                await remove()

    async def close(self) -> None:
        for runtime in self._instances.values():
            await runtime.close()
        self._instances.clear()
