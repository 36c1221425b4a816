"""RFC 9728 protected-resource metadata of each server's MCP endpoint: where clients learn how to authenticate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mcphost.api.deps import PlatformDep
from mcphost.oauth.metadata import issuer
from mcphost.servers.views import endpoint_url

router = APIRouter(tags=["gateway"])


@router.get("/.well-known/oauth-protected-resource/mcp/{slug}", summary="Protected-resource metadata (RFC 9728)")
async def protected_resource_metadata(slug: str, platform: PlatformDep) -> dict[str, Any]:
    """How to call ``/mcp/{slug}``: a bearer token in the Authorization header, either an access key of that
    server, a personal access token with the ``invoke`` scope, or an OAuth access token from the authorization
    server named here (none when OAuth is turned off). The same document is served for every name, so it does not
    reveal which servers exist."""
    public_url = platform.settings.effective_public_url
    return {
        "resource": endpoint_url(public_url, slug),
        "authorization_servers": [issuer(public_url)] if platform.settings.oauth.enabled else [],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["invoke"],
        "resource_name": f"MCP Host server {slug}",
        "resource_documentation": f"{public_url}/api/docs",
    }
