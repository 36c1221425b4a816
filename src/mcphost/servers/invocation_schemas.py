"""Response models of a server's invocation records: what clients asked it through the gateway, and its answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

InvocationStatus = Literal["ok", "error"]
PAYLOAD = (
    "As JSON, with the values of secret-looking keys (password, token, api_key, authorization...) replaced by "
    '"[redacted]". Longer than the configured limit (traces.max_payload_chars), it is '
    '{"_truncated": true, "preview": "<the first characters of its JSON>"}.'
)


class InvocationOut(BaseModel):
    """One request relayed by the gateway and how it was answered (params and result: fetch the record)."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Increases with the time records are written; pages are newest first by id.")
    server_id: uuid.UUID
    ts: datetime = Field(description="When the gateway received the request (UTC).")
    method: str = Field(description="The JSON-RPC method.", examples=["tools/call"])
    name: str | None = Field(
        description="The tool or prompt name (tools/call, prompts/get) or the resource uri (resources/read).",
        examples=["get_current_time"],
    )
    status: InvocationStatus = Field(
        description="error: a JSON-RPC error answer, or a tool result with isError true; ok otherwise."
    )
    error_code: int | None = Field(description="The JSON-RPC error code of an error answer.", examples=[-32602])
    error_message: str | None = Field(description="The JSON-RPC error message of an error answer.")
    session_id: str | None = Field(description="The client's MCP session (Mcp-Session-Id), if it had one.")
    user_id: uuid.UUID | None = Field(description="The user whose credential made the request, if known.")
    key_id: uuid.UUID | None = Field(description="The server access key the request was made with, if any.")
    request_id: str | None = Field(description="The client's JSON-RPC id, as text.", examples=["7"])
    duration_ms: float = Field(description="From the request to its answer, in milliseconds.", examples=[12.5])
    request_bytes: int = Field(description="Size of the request body.")
    response_bytes: int = Field(description="Size of the answer.")


class InvocationDetail(InvocationOut):
    """An invocation record with its params and result."""

    params: Any = Field(
        description=f"The request's params. {PAYLOAD}",
        examples=[{"name": "get_current_time", "arguments": {"timezone": "Europe/Paris"}}],
    )
    result: Any = Field(
        description=f"The result, or for an error answer the JSON-RPC error object (code, message, data). {PAYLOAD}",
        examples=[{"content": [{"type": "text", "text": "12:00"}], "isError": False}],
    )
