"""The gateway's own error answers: JSON-RPC error objects (``id`` null unless a request is known), with the
platform's reason code in ``data``."""

from __future__ import annotations

from typing import Any, Final

from mcphost.errors import AppError
from mcphost.gateway.asgi import Send, respond_json
from mcphost.mcp.jsonrpc import PARSE_ERROR, InvalidMessage

GATEWAY_ERROR: Final = -32000


class UpstreamUnavailable(AppError):
    """The server's upstream cannot be reached: not running, no instance to spare, or its node is down."""

    status_code = 503
    code = "server_unavailable"


def error_body(code: int, message: str, reason: str | None = None, request_id: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if reason is not None:
        error["data"] = {"reason": reason}
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def invalid_body(exc: InvalidMessage, request_id: Any = None) -> dict[str, Any]:
    """The answer to a body that is not JSON (-32700) or not a JSON-RPC message (-32600)."""
    what = "Parse error" if exc.code == PARSE_ERROR else "Invalid request"
    return error_body(exc.code, f"{what}: {exc}.", None, request_id)


async def respond_unavailable(send: Send, exc: AppError, request_id: Any, cors: list[tuple[bytes, bytes]]) -> None:
    """Answer a request whose upstream cannot be reached (not running, no instance to spare)."""
    headers = [(name.lower().encode(), value.encode()) for name, value in exc.headers.items()]
    body = error_body(GATEWAY_ERROR, exc.message, exc.code, request_id)
    await respond_json(send, exc.status_code, body, headers + cors)
