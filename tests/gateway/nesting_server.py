"""A stdio MCP server whose one tool answers with structured content nested as deep as asked: a hostile server's
answer that JSON readers accept (orjson reads 1024 levels) but that cannot be written back (orjson writes 254).
Standard library only."""

from __future__ import annotations

import json
import sys
from typing import Any

TOOL = {"name": "deep", "description": "Answers nested this deep.", "inputSchema": {"type": "object"}}


def answer(message: dict[str, Any]) -> str | None:
    """The reply line (JSON text, written by hand for the nested answer), or None for a notification."""
    method, params = message.get("method"), message.get("params") or {}
    if "id" not in message:
        return None
    if method == "initialize":
        result: Any = {
            "protocolVersion": params.get("protocolVersion", "2025-11-25"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "nesting-fixture", "version": "1.0.0"},
        }
    elif method == "tools/list":
        result = {"tools": [TOOL]}
    elif method == "tools/call":
        depth = int(params.get("arguments", {}).get("depth", 1))
        deep = "[" * depth + "]" * depth
        return f'{{"jsonrpc":"2.0","id":{json.dumps(message["id"])},"result":{{"content":[],"deep":{deep}}}}}'
    else:
        result = {}
    return json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result})


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            reply = answer(json.loads(line))
            if reply is not None:
                sys.stdout.write(reply + "\n")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
