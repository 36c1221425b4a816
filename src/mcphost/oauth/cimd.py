"""Client ID Metadata Documents: a client_id that is an https URL names a JSON document describing the client, which
MCP Host fetches — with a size cap, a deadline, no redirects, and never from an address of its own network unless
the administrator allows it (a client_id must not make the platform probe internal services).

The address is resolved once, checked, and the connection is made to that very address (the TLS name check still
uses the host name), so a DNS answer that changes between the check and the request cannot slip past it."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import httpx

from mcphost.oauth.errors import InvalidClient, InvalidClientMetadata
from mcphost.settings import OAuthSettings

#: Members a metadata document must not have: it describes a public client, which has no shared secret.
_SECRET_MEMBERS: Final = ("client_secret", "client_secret_expires_at")
_ACCEPT: Final = "application/json"


class MetadataUnavailable(InvalidClient):
    """The document could not be fetched or used; the client cannot be identified."""


def looks_like_metadata_url(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


def check_client_id_url(client_id: str, settings: OAuthSettings) -> None:
    """A usable client_id URL: https (http only when allowed), a host, a path beyond ``/``, no fragment, no user
    information, no dot segments (draft-ietf-oauth-client-id-metadata-document §3)."""
    try:
        parts = urlsplit(client_id)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise MetadataUnavailable("The client_id is not a valid URL.") from None
    allowed = ("https", "http") if settings.allow_http_metadata else ("https",)
    problem = None
    if parts.scheme not in allowed:
        problem = "must use https"
    elif not parts.hostname:
        problem = "needs a host"
    elif parts.path in ("", "/"):
        problem = "needs a path"
    elif parts.fragment or "#" in client_id:
        problem = "must not have a fragment"
    elif parts.username or parts.password:
        problem = "must not carry user information"
    elif any(segment in (".", "..") for segment in parts.path.split("/")):
        problem = "must not have . or .. path segments"
    if problem:
        raise MetadataUnavailable(f"A client_id URL {problem}: {client_id}")
    if not settings.client_metadata_documents:
        raise MetadataUnavailable("This MCP Host does not accept Client ID Metadata Documents; register the client.")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _resolve(host: str, port: int, settings: OAuthSettings) -> str:
    """The address to connect to: the first the name resolves to, after checking every one of them."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise MetadataUnavailable(f"The client_id's host {host} does not resolve.") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise MetadataUnavailable(f"The client_id's host {host} does not resolve.")
    if not settings.allow_private_metadata_hosts:
        private = [address for address in addresses if not _is_public(address)]
        if private:
            raise MetadataUnavailable(
                f"The client_id's host {host} resolves to a non-public address ({private[0]}); MCP Host does not "
                "fetch client metadata from its own network."
            )
    return addresses[0]


async def fetch_document(client_id: str, settings: OAuthSettings) -> dict[str, Any]:
    """The metadata document at ``client_id``, checked (``client_id`` member equal to the URL, no secret, a
    public client); raises ``InvalidClient`` (its subclass ``MetadataUnavailable``) or ``InvalidClientMetadata``."""
    check_client_id_url(client_id, settings)
    parts = urlsplit(client_id)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(settings.metadata_timeout_seconds):
            address = await _resolve(host, port, settings)
            raw = await _get(parts, host, port, address, settings)
    except TimeoutError:
        raise MetadataUnavailable(
            f"The client metadata document at {client_id} did not arrive within "
            f"{settings.metadata_timeout_seconds:g} s."
        ) from None
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise InvalidClientMetadata(f"The client metadata document at {client_id} is not JSON.") from None
    if not isinstance(document, dict):
        raise InvalidClientMetadata(f"The client metadata document at {client_id} is not a JSON object.")
    if document.get("client_id") != client_id:
        raise InvalidClientMetadata(
            f"The client metadata document's client_id ({document.get('client_id')!r}) is not its own URL "
            f"({client_id})."
        )
    if any(member in document for member in _SECRET_MEMBERS):
        raise InvalidClientMetadata("A client metadata document must not contain a client secret.")
    return document


async def _get(parts: Any, host: str, port: int, address: str, settings: OAuthSettings) -> bytes:
    netloc = f"[{address}]" if ":" in address else address
    if parts.port is not None:
        netloc += f":{port}"
    target = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    host_header = parts.netloc.rsplit("@", 1)[-1]
    limit = settings.metadata_max_bytes
    url = urlunsplit(parts)
    async with httpx.AsyncClient(follow_redirects=False, timeout=settings.metadata_timeout_seconds) as http:
        try:
            async with http.stream(
                "GET",
                target,
                headers={"host": host_header, "accept": _ACCEPT},
                extensions={"sni_hostname": host},
            ) as response:
                if response.is_redirect:
                    raise MetadataUnavailable(
                        f"The client metadata document at {url} redirects ({response.status_code}); redirects are "
                        "not followed."
                    )
                if response.status_code != 200:
                    raise MetadataUnavailable(
                        f"The client metadata document at {url} answered {response.status_code}, not 200."
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise _too_large(url, limit)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > limit:
                        raise _too_large(url, limit)
                return bytes(body)
        except httpx.HTTPError as exc:
            raise MetadataUnavailable(f"The client metadata document at {url} could not be fetched: {exc}.") from None


def _too_large(url: str, limit: int) -> InvalidClientMetadata:
    return InvalidClientMetadata(f"The client metadata document at {url} is larger than {limit} bytes.")
