"""JSON-RPC 2.0 envelopes as MCP uses them: parse one line, tell what kind of message it is, build replies.

Messages stay plain dicts (parsed by orjson, never validated by pydantic): the gateway's hot path only looks at the
envelope (``jsonrpc``, ``id``, ``method``, ``result``/``error``) and relays the rest untouched.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import orjson

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "ConnectionClosed",
    "InvalidMessage",
    "JsonRpcError",
    "Kind",
    "Message",
    "MessageTooLarge",
    "RequestId",
    "classify",
    "encode",
    "error_response",
    "notification",
    "parse",
    "request",
    "result_response",
]

Message = dict[str, Any]
RequestId = int | str
Kind = Literal["request", "notification", "response"]

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603

_dumps = orjson.dumps
_NEWLINE: Final = orjson.OPT_APPEND_NEWLINE


class JsonRpcError(Exception):
    """An error answer (``{"code", "message", "data"?}``), received from a peer or to be sent to one."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (JSON-RPC error {code})")
        self.code = code
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` member of a response."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    @classmethod
    def from_response(cls, response: Message) -> JsonRpcError:
        """The error a response carries; a malformed ``error`` member still gives a usable error."""
        error = response.get("error")
        if not isinstance(error, dict):
            return cls(INTERNAL_ERROR, f"malformed response: {str(response)[:200]}")
        code = error.get("code")
        message = error.get("message")
        return cls(
            code if isinstance(code, int) else INTERNAL_ERROR,
            message if isinstance(message, str) else str(message),
            error.get("data"),
        )


class MessageTooLarge(JsonRpcError):
    """The peer's answer was longer than the connection's line limit, so it was dropped unread."""

    def __init__(self, size: int) -> None:
        super().__init__(INTERNAL_ERROR, f"the response ({size} bytes) exceeded the message size limit and was dropped")
        self.size = size


class ConnectionClosed(ConnectionError):
    """The connection ended (the peer's output closed, it crashed, or we closed it) before an answer came."""


class InvalidMessage(ValueError):
    """A line that is not a JSON-RPC 2.0 message (not JSON, or JSON without a valid envelope)."""


def parse(line: bytes | bytearray | memoryview | str) -> Message | list[Any]:
    """Parse one line into a message (a dict) or a batch (a non-empty list); ``InvalidMessage`` for anything else.
    The envelope is checked by ``classify``, once, by whoever dispatches the message."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage(f"not JSON: {exc}") from None
    if type(message) is dict or (type(message) is list and message):
        return message
    raise InvalidMessage(f"not a JSON-RPC message: a JSON {type(message).__name__}")


def classify(message: Message) -> Kind:
    """Whether a parsed object is a request, a notification or a response; ``InvalidMessage`` otherwise."""
    if message.get("jsonrpc") != "2.0":
        raise InvalidMessage('missing "jsonrpc": "2.0"')
    method = message.get("method")
    if method is not None:
        if type(method) is not str:
            raise InvalidMessage('"method" is not a string')
        if "id" not in message:
            return "notification"
        if type(message["id"]) not in (int, str):
            raise InvalidMessage('a request "id" must be an integer or a string')
        return "request"
    if "id" in message and ("result" in message or "error" in message):
        return "response"
    raise InvalidMessage("neither a request, a notification nor a response")


def encode(message: Message) -> bytes:
    """One message as a line of JSON (what the stdio transport sends)."""
    return _dumps(message, option=_NEWLINE)


def request(request_id: RequestId, method: str, params: dict[str, Any] | None = None) -> Message:
    message: Message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: dict[str, Any] | None = None) -> Message:
    message: Message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


def result_response(request_id: RequestId | None, result: Any) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: RequestId | None, error: JsonRpcError) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_dict()}
