"""The runtimes this instance can use, keyed by type, created on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mcphost.runtimes.base import Runtime

if TYPE_CHECKING:
    from mcphost.settings import Settings

RUNTIME_CLASSES = {
    "process": "mcphost.runtimes.process:ProcessRuntime",
    "fake": "mcphost.runtimes.fake:FakeRuntime",
}


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

    def for_source(self, source_type: str) -> str | None:
        """The first configured runtime that can run this kind of source."""
        return next((t for t in self.configured if source_type in runtime_class(t).source_types), None)

    async def close(self) -> None:
        for runtime in self._instances.values():
            await runtime.close()
        self._instances.clear()
