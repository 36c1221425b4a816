"""Waiting, with a bound, for something asynchronous to become true."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, timeout: float = 15.0, what: str = "condition"
) -> T:
    """Call ``probe`` until ``accept`` holds for its result; fail with the last result after ``timeout``."""
    last: T | None = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                last = await probe()
                if accept(last):
                    return last
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{what} not reached within {timeout}s; last seen: {last!r}") from None


def until(probe: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    """Call ``probe`` (synchronous) until it answers something true, and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:.0f}s")
        time.sleep(0.1)
