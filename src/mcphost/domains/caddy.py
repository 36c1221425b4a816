"""Caddy's configuration for the verified domains, and loading it through Caddy's admin API.

MCP Host owns the whole configuration of its Caddy (``POST /load``), computed from the database each time, so a
restart of either side, or several MCP Host replicas, converge on the same document (Caddy ignores a load of the
configuration it already runs; this module skips it too). Per verified domain, on the HTTPS port:

- ``/mcp`` is rewritten to ``/mcp/{slug}`` and proxied to the platform, with the Host of the public URL (which the
  gateway accepts) and the domain in ``X-Forwarded-Host``; the ``resource_metadata`` of a ``WWW-Authenticate``
  answer is rewritten to the domain's own protected-resource metadata;
- ``/.well-known/oauth-protected-resource[/mcp]`` is proxied (the platform answers for the domain's resource);
- anything else is 404.

On the HTTP port: verification files (``/.well-known/mcphost-domain/*``) of any host are proxied to the platform,
verified names are redirected to HTTPS, and Caddy answers ACME HTTP-01 challenges itself. Certificates come from an
ACME issuer at ``acme_directory_url`` for the verified names; Caddy renews them on its own."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from mcphost.domains.names import HTTP_PATH
from mcphost.settings import Settings

HTTPS_SERVER, HTTP_SERVER = "mcphost_https", "mcphost_http"
CERTIFICATE_LOG = "mcphost_certificates"
#: Caddy's loggers that say how obtaining and renewing certificates goes.
CERTIFICATE_LOGGERS = ["tls.obtain", "tls.renew", "http.acme_client"]
RESOURCE_METADATA = "/.well-known/oauth-protected-resource"


class CaddyError(Exception):
    """Caddy's admin API could not be reached, or refused the configuration; the message says which and why."""


@dataclass(frozen=True)
class Site:
    """A verified domain and the slug of its server."""

    name: str
    slug: str


def upstream_of(settings: Settings) -> str:
    """host:port Caddy proxies to."""
    if settings.domains.upstream:
        return settings.domains.upstream
    host = settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    return f"[{host}]:{settings.server.port}" if ":" in host else f"{host}:{settings.server.port}"


def https_base(settings: Settings, name: str) -> str:
    port = settings.domains.https_port
    return f"https://{name}{'' if port == 443 else f':{port}'}"


def public_site(settings: Settings) -> str | None:
    """The public URL's host, when Caddy serves it too (an https public URL with a DNS name)."""
    if not settings.domains.proxy_public_url or not settings.public_url:
        return None
    parts = urlsplit(settings.public_url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or "." not in host:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return None


def build_config(settings: Settings, sites: list[Site], admin: Any = None) -> dict[str, Any]:
    """The whole Caddy configuration (``admin``: Caddy's current admin section, kept as it is)."""
    domains = settings.domains
    upstream = upstream_of(settings)
    public = settings.effective_public_url
    public_host = urlsplit(public).netloc
    https_routes: list[dict[str, Any]] = [_site_route(settings, site, upstream, public, public_host) for site in sites]
    names = [site.name for site in sites]
    own = public_site(settings)
    if own is not None and own not in names:
        https_routes.append({"match": [{"host": [own]}], "terminal": True, "handle": [_proxy(upstream)]})
        names.append(own)
    https_routes.append(_not_found("No MCP server is served at this name."))
    https_port = domains.https_port
    redirect_to = "https://{http.request.host}" + ("" if https_port == 443 else f":{https_port}")
    http_routes: list[dict[str, Any]] = [
        {
            "match": [{"path": [f"{HTTP_PATH}*"]}],
            "terminal": True,
            "handle": [_proxy(upstream, {"X-Forwarded-Host": ["{http.request.host}"]})],
        }
    ]
    if names:
        http_routes.append(
            {
                "match": [{"host": names}],
                "terminal": True,
                "handle": [
                    {
                        "handler": "static_response",
                        "status_code": 308,
                        "headers": {"Location": [redirect_to + "{http.request.uri}"]},
                    }
                ],
            }
        )
    http_routes.append(_not_found("No MCP server is served at this name."))
    no_redirects = {"disable_redirects": True}
    config: dict[str, Any] = {
        "apps": {
            "http": {
                "http_port": domains.http_port,
                "https_port": https_port,
                "servers": {
                    HTTPS_SERVER: {
                        "listen": [f":{https_port}"],
                        "routes": https_routes,
                        "automatic_https": no_redirects,
                    },
                    HTTP_SERVER: {"listen": [f":{domains.http_port}"], "routes": http_routes},
                },
            }
        }
    }
    if names:
        issuer: dict[str, Any] = {"module": "acme", "ca": domains.acme_directory_url}
        if domains.acme_email:
            issuer["email"] = domains.acme_email
        if domains.acme_ca_root_file is not None:
            issuer["trusted_roots_pem_files"] = [str(domains.acme_ca_root_file)]
        config["apps"]["tls"] = {"automation": {"policies": [{"subjects": names, "issuers": [issuer]}]}}
    if domains.caddy_log_file is not None:
        config["logging"] = {
            "logs": {
                CERTIFICATE_LOG: {
                    "writer": {"output": "file", "filename": str(domains.caddy_log_file)},
                    "encoder": {"format": "json"},
                    "include": CERTIFICATE_LOGGERS,
                }
            }
        }
    if admin is not None:
        config["admin"] = admin
    return config


def _site_route(settings: Settings, site: Site, upstream: str, public: str, public_host: str) -> dict[str, Any]:
    forwarded = {"Host": [public_host], "X-Forwarded-Host": ["{http.request.host}"]}
    metadata_here = f"{https_base(settings, site.name)}{RESOURCE_METADATA}/mcp"
    challenge = {
        "search": f"{public}{RESOURCE_METADATA}/mcp/{site.slug}",
        "replace": metadata_here,
    }
    mcp_proxy = _proxy(upstream, forwarded, response={"replace": {"WWW-Authenticate": [challenge]}})
    return {
        "match": [{"host": [site.name]}],
        "terminal": True,
        "handle": [
            {
                "handler": "subroute",
                "routes": [
                    {
                        "match": [{"path": ["/mcp"]}],
                        "handle": [{"handler": "rewrite", "uri": f"/mcp/{site.slug}"}, mcp_proxy],
                    },
                    {
                        "match": [{"path": [RESOURCE_METADATA, f"{RESOURCE_METADATA}/mcp"]}],
                        "handle": [_proxy(upstream, forwarded)],
                    },
                    _not_found(f"This domain serves an MCP endpoint at {https_base(settings, site.name)}/mcp."),
                ],
            }
        ],
    }


def _proxy(
    upstream: str, request: dict[str, list[str]] | None = None, response: dict[str, Any] | None = None
) -> dict[str, Any]:
    handler: dict[str, Any] = {"handler": "reverse_proxy", "upstreams": [{"dial": upstream}], "flush_interval": -1}
    headers: dict[str, Any] = {}
    if request:
        headers["request"] = {"set": request}
    if response:
        headers["response"] = response
    if headers:
        handler["headers"] = headers
    return handler


def _not_found(text: str) -> dict[str, Any]:
    return {
        "handle": [
            {
                "handler": "static_response",
                "status_code": 404,
                "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
                "body": text + "\n",
            }
        ]
    }


class CaddyAdmin:
    """Caddy's admin API: read the running configuration, load a new one."""

    def __init__(self, url: str, *, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport, trust_env=False)

    async def current(self) -> dict[str, Any] | None:
        response = await self._call("GET", "/config/")
        document = response.json()
        return document if isinstance(document, dict) else None

    async def load(self, config: dict[str, Any]) -> None:
        await self._call("POST", "/load", json=config)

    async def apply(self, settings: Settings, sites: list[Site]) -> bool:
        """Make Caddy run the configuration of these sites; whether it had to be loaded (False: already running)."""
        current = await self.current()
        wanted = build_config(settings, sites, admin=(current or {}).get("admin"))
        if current == wanted:
            return False
        await self.load(wanted)
        return True

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CaddyError(f"Caddy's admin API at {self.url} is unreachable: {exc or type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise CaddyError(f"Caddy refused {method} {path} ({response.status_code}): {response.text[:500].strip()}")
        return response

    async def close(self) -> None:
        await self._client.aclose()
