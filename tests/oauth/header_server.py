"""An MCP server over Streamable HTTP (standard library only, one file: the sandbox mounts nothing else) with two
tools: ``echo`` and ``request_headers``, which answers with the HTTP headers of the request that called it — the
gateway's upstream request, as the hosted server sees it.

Usage: header_server.py PORT"""

from __future__ import annotations

import json
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOOLS = [
    {
        "name": "echo",
        "description": "Echo the text.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
    },
    {"name": "request_headers", "description": "The headers of this request.", "inputSchema": {"type": "object"}},
]


def text(value: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": value}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("header-server: " + (format % args) + "\n")

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        message = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        method, params = message.get("method"), message.get("params") or {}
        if "id" not in message:
            self._send(202)
            return
        headers = {"Content-Type": "application/json"}
        if method == "initialize":
            result: dict[str, Any] = {
                "protocolVersion": params.get("protocolVersion", "2025-11-25"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "header-server", "version": "1.0.0"},
            }
            headers["Mcp-Session-Id"] = uuid.uuid4().hex
        elif method == "tools/list":
            result = {"tools": TOOLS}
        elif method == "tools/call" and params.get("name") == "request_headers":
            result = text(json.dumps({name.lower(): value for name, value in self.headers.items()}))
        elif method == "tools/call" and params.get("name") == "echo":
            result = text(str((params.get("arguments") or {}).get("text", "")))
        else:
            result = {}
        self._send(200, json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}).encode(), headers)

    def do_GET(self) -> None:
        self._send(405)

    def do_DELETE(self) -> None:
        self._send(200)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
