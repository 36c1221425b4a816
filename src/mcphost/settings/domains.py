"""Custom domains of hosted servers: verification, and the Caddy that serves them over TLS with ACME certificates."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, Field, field_validator


class DomainSettings(BaseModel):
    """``https://{domain}/mcp`` for a server: Caddy, driven through its admin API, terminates TLS with certificates
    it obtains and renews through ACME, and proxies to this platform's gateway."""

    enabled: bool = Field(
        False,
        description="Let server owners add custom domains, and keep Caddy's configuration in step with the verified "
        "ones (the Caddy sync runs with the background services: mcphost up, or mcphost worker).",
    )
    caddy_admin_url: str = Field(
        "http://127.0.0.1:2019",
        description="Caddy's admin API. MCP Host loads Caddy's whole configuration through it: give it a Caddy "
        "of its own.",
    )
    acme_directory_url: str = Field(
        "https://acme-v02.api.letsencrypt.org/directory",
        description="The ACME directory Caddy obtains certificates from (Let's Encrypt by default; e.g. "
        "https://acme-staging-v02.api.letsencrypt.org/directory to try things out).",
    )
    acme_ca_root_file: Path | None = Field(
        None,
        description="A PEM file of the root Caddy trusts for the ACME server's own HTTPS (a private ACME CA); "
        "unset: the system's roots.",
    )
    acme_email: str | None = Field(
        None, description="Contact email of the ACME account (expiry notices from the CA); unset: none."
    )
    http_port: int = Field(
        80,
        ge=1,
        le=65535,
        description="Port Caddy serves plain HTTP on: ACME HTTP-01 challenges, verification files, redirects.",
    )
    https_port: int = Field(443, ge=1, le=65535, description="Port Caddy serves the domains' HTTPS on.")
    upstream: str | None = Field(
        None,
        description="host:port Caddy proxies to, where this platform listens (default: server.host:server.port, "
        "with 0.0.0.0 as 127.0.0.1).",
    )
    caddy_host: str = Field(
        "127.0.0.1",
        description="Where MCP Host reaches Caddy's HTTPS port to check the certificate each domain is served with.",
    )
    caddy_log_file: Path | None = Field(
        None,
        description="A file Caddy writes its certificate log to (JSON lines) and MCP Host reads, to show why a "
        "certificate could not be obtained; needs Caddy and MCP Host on one machine. Unset: failures show only "
        "as a certificate that is not served yet.",
    )
    proxy_public_url: bool = Field(
        True,
        description="When public_url is https://NAME, Caddy serves NAME too (all paths, to this platform) with a "
        "certificate of its own, so one Caddy fronts the console and every domain.",
    )
    dns_resolvers: list[str] = Field(
        default_factory=list,
        description="Name servers (IP or IP:port) asked for verification records and for where a domain points; "
        "empty: the system's resolver.",
    )
    verify_timeout_seconds: float = Field(
        10.0, gt=0, description="Longest each verification check (DNS, HTTP) may take."
    )
    sync_interval_seconds: float = Field(
        30.0,
        gt=0,
        description="How often Caddy's configuration is compared with the verified domains and their certificates "
        "checked (at once after a change; every few seconds while a certificate is pending).",
    )

    @field_validator("caddy_admin_url", "acme_directory_url", mode="after")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("dns_resolvers", mode="after")
    @classmethod
    def _resolvers(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_nameserver(entry)  # raises ValueError with what is wrong
        return value


def parse_nameserver(entry: str) -> tuple[str, int]:
    """``IP`` or ``IP:port`` (``[v6]:port``) as (address, port); ValueError when it is neither."""
    text = entry.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), entry)
    elif text.count(":") == 1:
        host, _, rest = text.partition(":")
        port = _port(rest, entry)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{entry!r} is not a name server address (IP or IP:port)") from None
    return host, port


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r} has no valid port")
    return int(text)
