"""What a step's tool call gave: its output as later steps see it (``steps.<id>.output``), or why it failed and
whether another attempt could help.

The output of a result is its ``structuredContent`` when the tool sends one; else the text of its content (parsed
as JSON when the text is JSON, so a tool answering ``{"lat": 48.8}`` or ``3`` as text gives an object or a number);
else the content list itself (images, resources)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from mcphost.mcp.jsonrpc import INVALID_PARAMS

REQUEST_TIMEOUT: Final = -32001
#: Refusals of the platform (``gateway.withheld``): a held, disabled or role-restricted tool; trying again cannot help.
REFUSALS: Final = frozenset({"held", "disabled", "role"})
MAX_ERROR_CHARS: Final = 2000


@dataclass(frozen=True)
class ToolAnswer:
    """The answer to one tools/call: the server's result, or a JSON-RPC error."""

    result: dict[str, Any] | None
    error: dict[str, Any] | None


class ToolFailure(Exception):
    """A failed attempt of a step, with the arguments it was called with and whether a retry may succeed."""

    def __init__(self, message: str, arguments: dict[str, Any] | None, *, retryable: bool = True) -> None:
        super().__init__(message[:MAX_ERROR_CHARS])
        self.arguments = arguments
        self.retryable = retryable


def _texts(result: dict[str, Any]) -> list[str] | None:
    content = result.get("content")
    if not isinstance(content, list) or not content:
        return None
    texts = [item.get("text") for item in content if isinstance(item, dict) and item.get("type") == "text"]
    if len(texts) != len(content) or not all(isinstance(text, str) for text in texts):
        return None
    return [str(text) for text in texts]


def output_of(answer: ToolAnswer, timeout: float) -> Any:
    """The step's output; raises ``ToolFailure`` for an error answer or a tool error (``isError``)."""
    error = answer.error
    if error is not None:
        code = error.get("code")
        message = str(error.get("message") or "the server answered with an error")
        data = error.get("data")
        reason = data.get("reason") if isinstance(data, dict) else None
        if code == REQUEST_TIMEOUT:
            raise ToolFailure(f"The tool did not answer within {timeout:g} s.", None)
        if code == INVALID_PARAMS and reason in REFUSALS:
            raise ToolFailure(f"Refused: {message}", None, retryable=False)
        raise ToolFailure(f"The server answered with an error ({code}): {message}", None)
    result = answer.result or {}
    texts = _texts(result)
    if result.get("isError") is True:
        detail = "\n".join(texts) if texts else json.dumps(result.get("content"))[:MAX_ERROR_CHARS]
        raise ToolFailure(f"The tool reported an error: {detail}", None)
    if result.get("structuredContent") is not None:
        return result["structuredContent"]
    if texts is None:
        return result.get("content")
    text = "\n".join(texts)
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError:
        return text


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")
