"""Talking MCP to servers, client side: JSON-RPC envelopes (``jsonrpc``), the stdio transport (``stdio``) and the
client operations of a session (``session``). The gateway, capability sync and health checks build on these."""

from mcphost.mcp.jsonrpc import ConnectionClosed, JsonRpcError, MessageTooLarge
from mcphost.mcp.session import (
    SUPPORTED_PROTOCOL_VERSIONS,
    McpSession,
    ProtocolError,
    ServerManifest,
    UnsupportedProtocolVersion,
)
from mcphost.mcp.stdio import StdioConnection

__all__ = [
    "SUPPORTED_PROTOCOL_VERSIONS",
    "ConnectionClosed",
    "JsonRpcError",
    "McpSession",
    "MessageTooLarge",
    "ProtocolError",
    "ServerManifest",
    "StdioConnection",
    "UnsupportedProtocolVersion",
]
