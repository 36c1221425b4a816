"""Counting failed sign-ins per client address and email, so passwords cannot be guessed at speed.

Counts live in the process: with several replicas each enforces its own limit."""

from __future__ import annotations

import math
import time
from collections import deque

from mcphost.errors import RateLimited

MAX_TRACKED_KEYS = 100_000


class FailureThrottle:
    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def check(self, key: str) -> None:
        recent = self._recent(key)
        if len(recent) >= self.max_failures:
            retry_after = max(1, math.ceil(recent[0] + self.window - time.monotonic()))
            raise RateLimited(
                f"Too many failed sign-in attempts; try again in {retry_after} seconds.",
                retry_after=retry_after,
            )

    def record_failure(self, key: str) -> None:
        if len(self._failures) >= MAX_TRACKED_KEYS:
            self._forget_stale()
        self._failures.setdefault(key, deque()).append(time.monotonic())

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        entries = self._failures.get(key)
        if entries is None:
            return deque()
        horizon = time.monotonic() - self.window
        while entries and entries[0] < horizon:
            entries.popleft()
        if not entries:
            del self._failures[key]
        return entries

    def _forget_stale(self) -> None:
        for key in list(self._failures):
            self._recent(key)
        if len(self._failures) >= MAX_TRACKED_KEYS:
            self._failures.clear()
