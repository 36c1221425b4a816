"""JSON-RPC envelopes: what is a request, a notification, a response, and what is not a message at all."""

from __future__ import annotations

import pytest

from mcphost.mcp.jsonrpc import (
    METHOD_NOT_FOUND,
    InvalidMessage,
    JsonRpcError,
    classify,
    encode,
    error_response,
    notification,
    parse,
    request,
    result_response,
)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n', "request"),
        (b'{"jsonrpc":"2.0","id":"a","method":"ping","params":{}}', "request"),
        (b'{"jsonrpc":"2.0","method":"notifications/initialized"}\r\n', "notification"),
        (b'{"jsonrpc":"2.0","id":1,"result":{}}', "response"),
        (b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}', "response"),
    ],
)
def test_classify(line: bytes, kind: str) -> None:
    message = parse(line)
    assert isinstance(message, dict)
    assert classify(message) == kind


@pytest.mark.parametrize(
    "line",
    [b"Server started on stdio", b"", b"42", b'"text"', b"[]", b"{not json"],
)
def test_parse_refuses_what_is_not_a_message(line: bytes) -> None:
    with pytest.raises(InvalidMessage):
        parse(line)


@pytest.mark.parametrize(
    "message",
    [
        {"level": "info", "msg": "listening"},
        {"jsonrpc": "1.0", "id": 1, "method": "x"},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "method": 5},
        {"jsonrpc": "2.0", "id": [1], "method": "x"},
    ],
)
def test_classify_refuses_bad_envelopes(message: dict[str, object]) -> None:
    with pytest.raises(InvalidMessage):
        classify(message)


def test_a_batch_parses_to_a_list() -> None:
    batch = parse(b'[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","id":2,"result":{}}]')
    assert isinstance(batch, list)
    assert [classify(item) for item in batch] == ["notification", "response"]


def test_builders_encode_one_line_each() -> None:
    messages = [
        request(7, "tools/call", {"name": "echo", "arguments": {"text": "a\nb"}}),
        notification("notifications/initialized"),
        result_response("x", {}),
        error_response(3, JsonRpcError(METHOD_NOT_FOUND, "Method not found: nope")),
    ]
    for message in messages:
        line = encode(message)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert parse(line) == message
    assert "params" not in messages[1]
    assert messages[3]["error"] == {"code": -32601, "message": "Method not found: nope"}


def test_errors_read_from_responses() -> None:
    error = JsonRpcError.from_response(
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "bad", "data": [1]}}
    )
    assert (error.code, error.message, error.data) == (-32602, "bad", [1])
    assert error.to_dict() == {"code": -32602, "message": "bad", "data": [1]}
    malformed = JsonRpcError.from_response({"jsonrpc": "2.0", "id": 1, "error": "oops"})
    assert malformed.code == -32603
