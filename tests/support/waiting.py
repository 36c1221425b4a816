"""Waiting, with a bound, for something asynchronous to become true."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

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
