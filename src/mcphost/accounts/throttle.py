"""Counting failed sign-ins, so passwords cannot be guessed at speed: per client address and email (guessing one
account's password), and per client address across emails (password spraying: one common password tried on many
accounts). A user who mistypes their own password counts once towards the second limit, so people behind one NAT
rarely share a lock-out; a sign-in that succeeds clears that email's failures from the address.

Counts live in the process: with several replicas each enforces its own limit."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING

from mcphost.errors import RateLimited

if TYPE_CHECKING:
    from mcphost.settings import AuthSettings

MAX_TRACKED_KEYS = 100_000


class FailureThrottle:
    def __init__(self, max_failures: int, window_seconds: float, accounts_per_address: int = 10) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.accounts_per_address = accounts_per_address
        self._failures: dict[str, deque[float]] = {}
        #: address -> email -> when that email last failed from it
        self._emails: dict[str, dict[str, float]] = {}

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> FailureThrottle:
        return cls(auth.login_attempts, auth.login_window_seconds, auth.login_accounts_per_address)

    def check(self, ip: str | None, email: str) -> None:
        """Raise ``RateLimited`` when this address may not try this email now."""
        address = ip or "unknown"
        recent = self._recent(f"{address}|{email}")
        if len(recent) >= self.max_failures:
            self._refuse(recent[0], "Too many failed sign-in attempts")
        emails = self._recent_emails(address)
        if email not in emails and len(emails) >= self.accounts_per_address:
            self._refuse(
                min(emails.values()),
                f"Too many failed sign-ins for {len(emails)} different accounts from your address",
            )

    def record_failure(self, ip: str | None, email: str) -> None:
        address = ip or "unknown"
        if len(self._failures) >= MAX_TRACKED_KEYS or len(self._emails) >= MAX_TRACKED_KEYS:
            self._forget_stale()
        now = time.monotonic()
        self._failures.setdefault(f"{address}|{email}", deque()).append(now)
        # Bounded per address: check() refuses new emails once accounts_per_address of them failed.
        self._emails.setdefault(address, {})[email] = now

    def reset(self, ip: str | None, email: str) -> None:
        address = ip or "unknown"
        self._failures.pop(f"{address}|{email}", None)
        emails = self._emails.get(address)
        if emails is not None:
            emails.pop(email, None)
            if not emails:
                del self._emails[address]

    def _refuse(self, oldest: float, what: str) -> None:
        retry_after = max(1, math.ceil(oldest + self.window - time.monotonic()))
        raise RateLimited(f"{what}; try again in {retry_after} seconds.", retry_after=retry_after)

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

    def _recent_emails(self, address: str) -> dict[str, float]:
        emails = self._emails.get(address)
        if emails is None:
            return {}
        horizon = time.monotonic() - self.window
        for email in [email for email, when in emails.items() if when < horizon]:
            del emails[email]
        if not emails:
            del self._emails[address]
        return emails

    def _forget_stale(self) -> None:
        for key in list(self._failures):
            self._recent(key)
        for address in list(self._emails):
            self._recent_emails(address)
        if len(self._failures) >= MAX_TRACKED_KEYS:
            self._failures.clear()
        if len(self._emails) >= MAX_TRACKED_KEYS:
            self._emails.clear()
