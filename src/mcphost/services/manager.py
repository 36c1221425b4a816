"""Starts and stops a set of service loops together."""

from __future__ import annotations

import logging

from mcphost.services.loop import ServiceLoop

log = logging.getLogger(__name__)


class ServiceManager:
    def __init__(self, loops: list[ServiceLoop] | None = None) -> None:
        self.loops: list[ServiceLoop] = list(loops or [])

    def add(self, loop: ServiceLoop) -> None:
        self.loops.append(loop)

    def get(self, name: str) -> ServiceLoop | None:
        return next((loop for loop in self.loops if loop.name == name), None)

    async def start(self) -> None:
        for loop in self.loops:
            await loop.start()
            log.info("service %s started (every %.1fs)", loop.name, loop.interval)

    async def stop(self) -> None:
        for loop in reversed(self.loops):
            await loop.stop()
            log.info("service %s stopped", loop.name)
