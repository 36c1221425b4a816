"""What the process and Docker runtimes' instances share: output pumped into a bounded buffer, an exit recorded once
by the instance's own watcher and waited for by anyone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from mcphost.runtimes.base import Instance
from mcphost.runtimes.log_lines import LogBuffer, pump_lines

__all__ = ["WatchedInstance"]

_LOG_DRAIN_SECONDS = 5.0


class WatchedInstance(Instance):
    """An instance whose stderr (``log_stream``) is read into a buffer of ``max_log_lines`` lines; the subclass's
    watcher calls ``_exited_with`` once it knows the exit code."""

    def __init__(self, *, name: str, url: str | None, log_stream: asyncio.StreamReader, max_log_lines: int) -> None:
        self._url = url
        self._code: int | None = None
        self._exited = asyncio.Event()
        self._logs = LogBuffer(max_lines=max_log_lines)
        self._log_task = asyncio.create_task(pump_lines(log_stream, self._logs), name=f"logs-{name}")

    @property
    def url(self) -> str | None:
        return self._url

    def log_lines(self) -> AsyncIterator[str]:
        """Its stderr lines until it exits (one consumer). Lines a slow consumer missed are counted and announced."""
        return self._logs.lines()

    @property
    def dropped_log_lines(self) -> int:
        return self._logs.dropped

    def last_log_lines(self, count: int = 20) -> list[str]:
        """The most recent lines, whether or not they were consumed (for an error report)."""
        return self._logs.tail(count)

    @property
    def exit_code(self) -> int | None:
        return self._code

    async def wait(self) -> int:
        await self._exited.wait()
        assert self._code is not None
        return self._code

    async def _exits_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(self._exited.wait()), max(seconds, 0.0))
        except TimeoutError:
            return False
        return True

    async def _exited_with(self, code: int) -> None:
        """Record the exit (the code found earlier, if any, stands), wake the waiters, let the last lines in."""
        if self._code is None:
            self._code = code
        self._exited.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._log_task), _LOG_DRAIN_SECONDS)
