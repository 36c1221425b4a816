"""JSON-RPC 2.0 envelopes as MCP uses them: parse one line, tell what kind of message it is, build replies.

Messages stay plain dicts (parsed by orjson, never validated by pydantic): the gateway's hot path only looks at the
envelope (``jsonrpc``, ``id``, ``method``, ``result``/``error``) and relays the rest untouched.

A message may nest at most ``MAX_DEPTH`` levels: orjson reads up to 1024 but writes at most 254, so a deeper message
could be read and then not relayed; 128 leaves room for the envelopes the gateway wraps around a client's values
and is far more than any MCP schema needs.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import orjson

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MAX_DEPTH",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "ConnectionClosed",
    "InvalidMessage",
    "JsonRpcError",
    "Kind",
    "Message",
    "MessageTooLarge",
    "ParseError",
    "RequestId",
    "check_depth",
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
MAX_DEPTH: Final = 128

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
    """A line that is not a JSON-RPC 2.0 message (JSON without a valid envelope): an invalid request (-32600)."""

    code: int = INVALID_REQUEST


class ParseError(InvalidMessage):
    """Text that cannot be read as a message: not JSON, or nested more than ``MAX_DEPTH`` levels (-32700)."""

    code = PARSE_ERROR


def parse(line: bytes | bytearray | memoryview | str) -> Message | list[Any]:
    """Parse one line (or a POSTed body) into a message (a dict) or a batch (a non-empty list): the one parse of
    what clients send, in both protocol eras. ``ParseError`` for text that is not JSON or nests too deeply,
    ``InvalidMessage`` for JSON that is neither. The envelope is checked by ``classify``, once, by whoever
    dispatches the message."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"not JSON: {exc}") from None
    # Depth D takes at least D opening brackets, so short or flat text (the usual message) needs no walk.
    if len(line) > MAX_DEPTH and _openers(line) > MAX_DEPTH:
        check_depth(message)
    if type(message) is dict or (type(message) is list and message):
        return message
    raise InvalidMessage(
        f"send a JSON-RPC message (an object) or a batch (a non-empty array), not a JSON {_json_type(message)}"
    )


def _openers(text: bytes | bytearray | memoryview | str) -> int:
    if isinstance(text, str):
        return text.count("[") + text.count("{")
    data = bytes(text) if isinstance(text, memoryview) else text
    return data.count(b"[") + data.count(b"{")


def check_depth(value: Any, limit: int = MAX_DEPTH, *, level: int = 1) -> None:
    """``ParseError`` when ``value``, found at ``level`` of a message (1: the message itself, 2: its params),
    nests more than ``limit`` arrays and objects in all. It does not recurse itself."""
    if type(value) is not dict and type(value) is not list:
        return
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, level)]
    while stack:
        container, depth = stack.pop()
        if depth > limit:
            raise ParseError(f"the JSON is nested more than {limit} levels deep (arrays and objects)")
        for child in container.values() if type(container) is dict else container:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is bool:
        return "boolean"
    if type(value) in (int, float):
        return "number"
    if type(value) is str:
        return "string"
    if type(value) is list:
        return "array" if value else "empty array"
    return "object"


def classify(message: Any) -> Kind:
    """Whether a parsed value is a request, a notification or a response; ``InvalidMessage`` otherwise (a value
    that is not even an object, such as an item of the batch ``[1]``, included)."""
    if type(message) is not dict:
        raise InvalidMessage(f"a JSON-RPC message is an object, not a JSON {_json_type(message)}")
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
