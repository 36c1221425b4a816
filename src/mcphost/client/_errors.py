"""What the API client raises: one base class, so a caller can catch every expected failure at once."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "ClientError", "Unreachable"]


class ClientError(Exception):
    """An expected failure of a request: its ``message`` is fit to show a user as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(ClientError):
    """The API answered with an error: its HTTP status and the body's code, message and details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details

    def __repr__(self) -> str:
        return f"ApiError(status={self.status}, code={self.code!r}, message={self.message!r})"


class Unreachable(ClientError):
    """Nothing answered at the URL (connection refused, DNS failure, timeout)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason
