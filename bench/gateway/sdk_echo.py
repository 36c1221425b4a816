"""The official SDK's backend for the gateway benchmark: an ``MCPServer`` (mcp 2.x) with one ``echo`` tool, over
stdio. Run with the project's interpreter, which has the SDK."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("sdk-echo", version="1.0.0")


@server.tool()
def echo(text: str) -> str:
    """Returns its text."""
    return text


if __name__ == "__main__":
    server.run("stdio")
