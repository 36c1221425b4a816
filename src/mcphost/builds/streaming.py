"""The Docker SDK streams a build's or a push's output as a blocking iterator; this runs one in a worker thread and
hands its items to async code, with a deadline for the whole stream."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import suppress
from typing import Any

__all__ = ["StreamTimeout", "iterate_in_thread"]

_END = object()


class StreamTimeout(Exception):
    """The stream did not end before its deadline."""


async def iterate_in_thread(produce: Callable[[], Iterable[Any]], seconds: float) -> AsyncIterator[Any]:
    """Items of ``produce()`` (iterated in a thread) as they come; ``StreamTimeout`` after ``seconds``.

    When the consumer stops early (an error, the deadline), the thread stops at its next item and closes the
    iterator, which closes the engine's connection (the engine then cancels a build)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()
    stop = threading.Event()

    def send(item: Any, error: BaseException | None = None) -> None:
        with suppress(RuntimeError):  # the loop is gone: nobody is listening any more
            loop.call_soon_threadsafe(queue.put_nowait, (item, error))

    def run() -> None:
        iterator = None
        try:
            iterator = iter(produce())
            for item in iterator:
                if stop.is_set():
                    break
                send(item)
        except Exception as error:
            send(_END, error)
            return
        finally:
            close = getattr(iterator, "close", None)
            if stop.is_set() and callable(close):
                with suppress(Exception):
                    close()
        send(_END)

    worker = loop.run_in_executor(None, run)
    deadline = loop.time() + seconds
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise StreamTimeout
            try:
                item, error = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError:
                raise StreamTimeout from None
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        if worker.done():
            worker.result()
