"""A typed async client of the MCP Host API, used by the command line and the tests.

    async with MCPHostClient("http://127.0.0.1:8700", token) as api:
        servers = await api.list_servers()

Every method returns the API's JSON as plain dicts and lists. A failed request raises ``ApiError`` (the
server's ``{"error": {"code", "message", "details"}}``) or ``Unreachable`` (nothing answered).
"""

from mcphost.client._client import MCPHostClient
from mcphost.client._errors import ApiError, ClientError, Unreachable

__all__ = ["ApiError", "ClientError", "MCPHostClient", "Unreachable"]
