"""The gateway's own error answers: JSON-RPC error objects (``id`` null unless a request is known), with the
platform's reason code in ``data``."""

from __future__ import annotations

from typing import Any, Final

from mcphost.errors import AppError

GATEWAY_ERROR: Final = -32000


def error_body(code: int, message: str, reason: str | None = None, request_id: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if reason is not None:
        error["data"] = {"reason": reason}
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def unavailable(exc: AppError) -> tuple[int, list[tuple[bytes, bytes]]]:
    """The HTTP status and headers of an upstream that cannot be reached."""
    return exc.status_code, [(name.lower().encode(), value.encode()) for name, value in exc.headers.items()]
