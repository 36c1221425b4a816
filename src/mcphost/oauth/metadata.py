"""What the authorization server says about itself (RFC 8414), and the names of its endpoints.

The issuer is the platform's public URL: the protected-resource metadata of every server names it, and clients find
this document at ``/.well-known/oauth-authorization-server`` (or the OpenID-style ``openid-configuration``)."""

from __future__ import annotations

from typing import Any, Final

from mcphost.settings import OAuthSettings

SCOPE_INVOKE: Final = "invoke"
#: Accepted so clients that ask for it (OpenID style) get a refresh token; refresh tokens are issued either way to
#: clients registered for the refresh_token grant.
SCOPE_OFFLINE: Final = "offline_access"
SCOPES_SUPPORTED: Final = (SCOPE_INVOKE, SCOPE_OFFLINE)
GRANT_TYPES: Final = ("authorization_code", "refresh_token")
AUTH_METHODS: Final = ("none", "client_secret_post", "client_secret_basic")

AUTHORIZE_PATH: Final = "/oauth/authorize"
TOKEN_PATH: Final = "/oauth/token"  # noqa: S105 (a path)
REGISTER_PATH: Final = "/oauth/register"
REVOKE_PATH: Final = "/oauth/revoke"


def issuer(public_url: str) -> str:
    return public_url.rstrip("/")


def server_metadata(public_url: str, settings: OAuthSettings) -> dict[str, Any]:
    """The RFC 8414 document (also served as OpenID-style discovery; there are no ID tokens)."""
    base = issuer(public_url)
    document: dict[str, Any] = {
        "issuer": base,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "revocation_endpoint": base + REVOKE_PATH,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "scopes_supported": list(SCOPES_SUPPORTED),
        "client_id_metadata_document_supported": settings.client_metadata_documents,
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{base}/docs/clients",
    }
    if settings.registration_enabled:
        document["registration_endpoint"] = base + REGISTER_PATH
    return document
