"""The fastmcp peer: ``create_proxy`` of a stdio backend, served over Streamable HTTP at /mcp. Runs in the fastmcp
virtualenv made by peers.py, not in the project's.

    bench/.peers/fastmcp/bin/python bench/gateway/fastmcp_proxy.py PORT PROGRAM [ARGS...]
"""

from __future__ import annotations

import sys

from fastmcp.client.transports import StdioTransport
from fastmcp.server import create_proxy

if __name__ == "__main__":
    port, program, *arguments = sys.argv[1:]
    proxy = create_proxy(StdioTransport(command=program, args=arguments), name="fastmcp-proxy")
    proxy.run("http", host="127.0.0.1", port=int(port), path="/mcp", show_banner=False, log_level="warning")
