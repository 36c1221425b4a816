"""uvicorn's server adapted for ``mcphost up`` (imported only when serving, to keep the CLI quick to start)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager
from types import FrameType

import uvicorn


class Server(uvicorn.Server):
    """Ends open event streams as soon as shutdown starts (they would hold it up), and exits with status 0
    after a graceful shutdown on SIGINT or SIGTERM instead of re-raising the signal."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()
