"""The base of every background loop: run ``run_once`` every ``interval`` seconds until stopped.

A failing iteration is logged and the loop carries on after the interval; it never dies silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class ServiceLoop(ABC):
    name: str = "service"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.iterations = 0
        self.failures = 0
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run_once(self) -> None:
        """One unit of the loop's work."""

    async def start(self) -> None:
        if self._task is not None:
            return
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=f"service:{self.name}")

    async def stop(self, grace: float = 10.0) -> None:
        if self._task is None:
            return
        self._stop.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        await self.on_stop()

    async def on_stop(self) -> None:  # noqa: B027 (an optional hook)
        """Release what the loop holds once it has stopped."""

    def wake(self) -> None:
        """Run the next iteration now instead of after the interval."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
                self.iterations += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.exception("service %s iteration failed", self.name)
            await self._sleep()

    async def _sleep(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.interval)
        self._wake.clear()
