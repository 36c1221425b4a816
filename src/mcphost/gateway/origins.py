"""Host and Origin checks of the MCP endpoint (DNS rebinding and cross-site protection) and the CORS answers for
browser clients from allowed origins."""

from __future__ import annotations

import re
from dataclasses import dataclass
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
#: A Host header value as RFC 9110 defines it: a name or IPv4 address, or an IPv6 address in brackets, and an
#: optional port. Anything else (``127.0.0.1:8795@evil.example``, spaces, a path) is malformed, not "some host".
_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_.])?))(?::[0-9]{0,5})?")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request may not use the endpoint: a malformed Host (400), or a Host or Origin not allowed (403)."""

    status: int
    reason: str
    message: str


MALFORMED_HOST: Final = Refusal(400, "host", "The Host header is malformed; send host or host:port.")
FOREIGN: Final = Refusal(403, "origin", "This Host or Origin may not use the endpoint.")


def parse_host(value: str) -> str | None:
    """The host of a Host header value (``name``, ``name:port``, ``[v6]:port``), lower-case; None if malformed."""
    match = _HOST.fullmatch(value.strip().lower())
    if match is None:
        return None
    return match.group("v6") or match.group("name")


def _hostname(value: str) -> str:
    """The host of a configured allowed host (``name``, ``name:port``, ``[v6]:port``), lower-case."""
    return parse_host(value) or value.strip().lower()


class OriginPolicy:
    def __init__(self, public_url: str, settings: GatewaySettings) -> None:
        public = urlsplit(public_url)
        self.public_origin = f"{public.scheme}://{public.netloc}".lower()
        self.public_host = (public.hostname or "").lower()
        self.any_host = "*" in settings.allowed_hosts
        self.hosts = LOOPBACK | {self.public_host} | {_hostname(host) for host in settings.allowed_hosts}
        self.any_origin = "*" in settings.allowed_origins
        self.origins = {self.public_origin} | {origin.rstrip("/").lower() for origin in settings.allowed_origins}

    def check(self, headers: dict[bytes, bytes]) -> CorsHeaders | Refusal:
        """The CORS headers to add when the request may go on (none for non-browser clients), or why not."""
        host = headers.get(b"host")
        request_host = None
        if host is not None:
            request_host = parse_host(host.decode("latin-1"))
            if request_host is None:
                return MALFORMED_HOST
            if not self.any_host and request_host not in self.hosts:
                return FOREIGN
        origin = headers.get(b"origin")
        if origin is None:
            return []
        text = origin.decode("latin-1").rstrip("/").lower()
        if not (self.any_origin or text in self.origins or self._loopback_pair(text, request_host)):
            return FOREIGN
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
