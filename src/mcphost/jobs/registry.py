"""Job handlers keyed by kind. Domains register theirs when the platform is built; a handler reaches what it
works with through its own object (a bound method), not through the job."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help: the job goes straight to ``dead``."""


@dataclass(frozen=True)
class JobContext:
    job_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


JobHandler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]


class JobRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self._handlers[kind] = handler

    def handler(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        def decorate(func: JobHandler) -> JobHandler:
            self.register(kind, func)
            return func

        return decorate

    def get(self, kind: str) -> JobHandler | None:
        return self._handlers.get(kind)

    @property
    def kinds(self) -> list[str]:
        return sorted(self._handlers)
