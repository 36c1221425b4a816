"""Host and Origin checks of the MCP endpoint (DNS rebinding and cross-site protection) and the CORS answers for
browser clients from allowed origins."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from mcphost.gateway.asgi import Send, respond
from mcphost.settings import GatewaySettings

LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
EXPOSED: Final = b"mcp-session-id, mcp-protocol-version, www-authenticate, retry-after"
ALLOWED_HEADERS: Final = (
    b"authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id, mcp-method, mcp-name"
)
CorsHeaders = list[tuple[bytes, bytes]]


def _hostname(value: str) -> str:
    """The host of a Host header value (``name``, ``name:port``, ``[v6]:port``), lower-case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.rpartition(":")[0] if value.count(":") == 1 else value


class OriginPolicy:
    def __init__(self, public_url: str, settings: GatewaySettings) -> None:
        public = urlsplit(public_url)
        self.public_origin = f"{public.scheme}://{public.netloc}".lower()
        self.public_host = (public.hostname or "").lower()
        self.any_host = "*" in settings.allowed_hosts
        self.hosts = LOOPBACK | {self.public_host} | {_hostname(host) for host in settings.allowed_hosts}
        self.any_origin = "*" in settings.allowed_origins
        self.origins = {self.public_origin} | {origin.rstrip("/").lower() for origin in settings.allowed_origins}

    def check(self, headers: dict[bytes, bytes]) -> CorsHeaders | None:
        """The CORS headers to add when the request may go on (none for non-browser clients); None to refuse."""
        host = headers.get(b"host")
        request_host = _hostname(host.decode("latin-1")) if host is not None else None
        if request_host is not None and not self.any_host and request_host not in self.hosts:
            return None
        origin = headers.get(b"origin")
        if origin is None:
            return []
        text = origin.decode("latin-1").rstrip("/").lower()
        if not (self.any_origin or text in self.origins or self._loopback_pair(text, request_host)):
            return None
        return [
            (b"access-control-allow-origin", origin),
            (b"vary", b"Origin"),
            (b"access-control-expose-headers", EXPOSED),
        ]

    @staticmethod
    def _loopback_pair(origin: str, request_host: str | None) -> bool:
        """A page on this machine talking to a gateway on this machine (local development)."""
        return request_host in LOOPBACK and (urlsplit(origin).hostname or "") in LOOPBACK

    async def preflight(self, send: Send, cors: CorsHeaders) -> None:
        headers = [
            *cors,
            (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
            (b"access-control-allow-headers", ALLOWED_HEADERS),
            (b"access-control-max-age", b"600"),
        ]
        await respond(send, 204, b"", headers)
