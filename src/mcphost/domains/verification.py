"""Proving control of a domain: its token in a DNS TXT record at ``_mcphost-challenge.{domain}``, or served over
plain HTTP at ``http://{domain}/.well-known/mcphost-domain/{token}``.

The HTTP check asks the domain itself: wherever its DNS points answers. When it points at this platform's Caddy,
the platform answers from its database (``service.challenge_answer``), which proves the domain is pointed here.
Each check returns None when it passed, else words saying what was found instead."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver
import httpx

from mcphost.domains.names import HTTP_PATH, TXT_PREFIX, http_url
from mcphost.settings.domains import DomainSettings, parse_nameserver

MAX_ANSWER_BYTES = 4096


@dataclass(frozen=True)
class Checker:
    """The two checks, with the resolver and ports of the settings."""

    settings: DomainSettings

    def _resolver(self) -> dns.asyncresolver.Resolver:
        if not self.settings.dns_resolvers:
            resolver = dns.asyncresolver.Resolver()
        else:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(*parse_nameserver(entry)) for entry in self.settings.dns_resolvers
            ]
        resolver.lifetime = self.settings.verify_timeout_seconds
        return resolver

    async def dns(self, name: str, token: str) -> str | None:
        record = f"{TXT_PREFIX}.{name}"
        try:
            answer = await self._resolver().resolve(record, "TXT")
        except dns.resolver.NXDOMAIN:
            return f"no TXT record at {record} (the name does not exist)"
        except dns.resolver.NoAnswer:
            return f"no TXT record at {record}"
        except dns.exception.Timeout:
            return f"the DNS lookup of {record} timed out"
        except dns.exception.DNSException as exc:
            return f"the DNS lookup of {record} failed: {exc}"
        values = [b"".join(item.strings).decode("utf-8", "replace") for item in answer]
        if token in (value.strip() for value in values):
            return None
        shown = ", ".join(repr(value[:80]) for value in values[:3])
        return f"the TXT record at {record} holds {shown}, not the token"

    async def addresses(self, name: str) -> list[str]:
        """Where the name points (IPv4 first), through the configured name servers or the system's resolver."""
        if not self.settings.dns_resolvers:
            infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
            found = [str(info[4][0]) for info in infos]
        else:
            found = []
            resolver = self._resolver()
            for kind in ("A", "AAAA"):
                try:
                    answer = await resolver.resolve(name, kind)
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                    continue
                found += [item.to_text() for item in answer]
        unique = list(dict.fromkeys(found))
        return sorted(unique, key=lambda address: ipaddress.ip_address(address).version)

    async def http(self, name: str, token: str) -> str | None:
        url = http_url(name, token, self.settings.http_port)
        try:
            addresses = await self.addresses(name)
        except (OSError, dns.exception.DNSException) as exc:
            return f"{name} does not resolve ({exc})"
        if not addresses:
            return f"{name} has no A or AAAA record"
        address = addresses[0]
        host = f"[{address}]" if ":" in address else address
        port = self.settings.http_port
        target = f"http://{host}:{port}{HTTP_PATH}{token}"
        headers = {"host": name if port == 80 else f"{name}:{port}", "user-agent": "MCP Host domain verification"}
        timeout = self.settings.verify_timeout_seconds
        try:
            async with (
                httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client,
                client.stream("GET", target, headers=headers) as response,
            ):
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        break
        except httpx.HTTPError as exc:
            return f"{url} could not be fetched from {address}: {exc or type(exc).__name__}"
        if response.status_code != 200:
            return f"{url} answered {response.status_code} (from {address})"
        if body.decode("utf-8", "replace").strip() != token:
            return f"{url} answered, but not with the token (from {address})"
        return None
