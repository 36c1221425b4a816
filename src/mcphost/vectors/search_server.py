"""The MCP server of a published vector database: a ``search`` tool (query, k) and the stored documents as
resources, over stdio.

It is deployed as a hosted server and runs in that server's sandbox like any other, so it uses only the standard
library (run as ``python -I search_server.py``) and holds no secret: it asks the platform through the Unix socket the
platform keeps in its data directory (``VECTORS_SOCKET``, ``/data/.vectors.sock``), which answers only for this
database's published collection (``mcphost.vectors.bridge``)."""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.parse
from typing import Any

PROTOCOLS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
NAME = os.environ.get("VECTORS_NAME", "vector database")
SOCKET = os.environ.get("VECTORS_SOCKET", "/data/.vectors.sock")
SCHEME = "vectors://document/"

SEARCH_TOOL = {
    "name": "search",
    "title": "Search the knowledge base",
    "description": f"Semantic search of {NAME}: the passages closest in meaning to the query, best first, each with "
    "its source document and a similarity score.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for, in natural language."},
            "k": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5, "description": "How many passages."},
        },
        "required": ["query"],
    },
}


def ask(request: dict[str, Any]) -> dict[str, Any]:
    """One request to the platform's bridge."""
    path, fd = SOCKET, None
    if len(path) > 100:  # deep data directory outside a sandbox: connect through a directory fd
        fd = os.open(os.path.dirname(path), os.O_RDONLY)
        path = f"/proc/self/fd/{fd}/{os.path.basename(SOCKET)}"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(60)
            connection.connect(path)
            connection.sendall(json.dumps(request).encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                part = connection.recv(65536)
                if not part:
                    break
                answer += part
    except OSError as exc:
        return {"error": f"the vector database cannot be reached ({exc.strerror or exc})"}
    finally:
        if fd is not None:
            os.close(fd)
    return dict(json.loads(answer)) if answer else {"error": "no answer from the vector database"}


def call_tool(params: dict[str, Any]) -> dict[str, Any]:
    if params.get("name") != "search":
        raise LookupError(f"unknown tool {params.get('name')!r}")
    arguments = params.get("arguments") or {}
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        return {"content": [{"type": "text", "text": "query must be a non-empty string"}], "isError": True}
    k = arguments.get("k", 5)
    if not isinstance(k, int) or not 1 <= k <= 50:
        return {"content": [{"type": "text", "text": "k must be an integer from 1 to 50"}], "isError": True}
    answer = ask({"op": "search", "query": query, "k": k})
    if "error" in answer:
        return {"content": [{"type": "text", "text": answer["error"]}], "isError": True}
    results = answer["results"]
    for hit in results:
        hit["uri"] = SCHEME + urllib.parse.quote(hit["source"], safe="")
    lines = [f"[{i + 1}] {hit['source']} (score {hit['score']}):\n{hit['text']}" for i, hit in enumerate(results)]
    return {
        "content": [{"type": "text", "text": "\n\n".join(lines) or "No passages found."}],
        "structuredContent": {"results": results},
        "isError": False,
    }


def list_resources() -> dict[str, Any]:
    answer = ask({"op": "documents"})
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return {
        "resources": [
            {
                "uri": SCHEME + urllib.parse.quote(doc["source"], safe=""),
                "name": doc["source"],
                "title": doc.get("title") or doc["source"],
                "mimeType": "text/plain",
            }
            for doc in answer["documents"]
        ]
    }


def read_resource(params: dict[str, Any]) -> dict[str, Any]:
    uri = str(params.get("uri") or "")
    if not uri.startswith(SCHEME):
        raise LookupError(f"unknown resource {uri!r}")
    answer = ask({"op": "read", "source": urllib.parse.unquote(uri[len(SCHEME) :])})
    if "error" in answer:
        raise LookupError(answer["error"])
    return {"contents": [{"uri": uri, "mimeType": "text/plain", "text": answer["text"]}]}


def handle(method: str, params: dict[str, Any]) -> dict[str, Any]:
    if method == "initialize":
        wanted = params.get("protocolVersion")
        return {
            "protocolVersion": wanted if wanted in PROTOCOLS else PROTOCOLS[0],
            "capabilities": {"tools": {}, "resources": {}},
            "serverInfo": {"name": "mcphost-vector-search", "version": "1.0.0"},
            "instructions": f"Search {NAME} with the search tool; its documents are resources.",
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": [SEARCH_TOOL]}
    if method == "tools/call":
        return call_tool(params)
    if method == "resources/list":
        return list_resources()
    if method == "resources/read":
        return read_resource(params)
    if method in ("resources/templates/list",):
        return {"resourceTemplates": []}
    if method == "prompts/list":
        return {"prompts": []}
    raise NotImplementedError(method)


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "id" not in message or "method" not in message:
            continue  # notifications and responses need no answer
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
        try:
            reply["result"] = handle(message["method"], message.get("params") or {})
        except NotImplementedError:
            reply["error"] = {"code": -32601, "message": f"method not found: {message['method']}"}
        except LookupError as exc:
            reply["error"] = {"code": -32602, "message": str(exc)}
        except Exception as exc:  # an answer for every request, whatever failed
            reply["error"] = {"code": -32603, "message": str(exc)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
