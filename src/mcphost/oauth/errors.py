"""OAuth errors, answered in the shape RFC 6749 §5.2 gives (``{"error", "error_description"}``) by the OAuth
endpoints, or as a redirect to the client (``error``, ``state``, ``iss``) by the authorization endpoint once the
client and its redirect URI are known to be genuine."""

from __future__ import annotations

from typing import Any

from mcphost.errors import AppError


class OAuthError(AppError):
    """An OAuth error: ``code`` is the RFC error code (``invalid_request``, ``invalid_grant``…)."""

    status_code = 400
    code = "invalid_request"

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.message}


class InvalidRequest(OAuthError):
    code = "invalid_request"


class InvalidClient(OAuthError):
    """Unknown client, or failed client authentication (401 with a challenge when the client used Basic)."""

    status_code = 401
    code = "invalid_client"


class InvalidGrant(OAuthError):
    code = "invalid_grant"


class UnauthorizedClient(OAuthError):
    code = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    code = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    code = "unsupported_response_type"


class InvalidScope(OAuthError):
    code = "invalid_scope"


class InvalidTarget(OAuthError):
    """RFC 8707: the resource is not one this server issues tokens for."""

    code = "invalid_target"


class AccessDenied(OAuthError):
    status_code = 403
    code = "access_denied"


class InvalidRedirectUri(OAuthError):
    """RFC 7591 §3.2.2."""

    code = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2; also a client metadata document that cannot be used."""

    code = "invalid_client_metadata"


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1."""

    code = "unsupported_token_type"


class OAuthDisabled(OAuthError):
    """The administrator turned OAuth off."""

    status_code = 404
    code = "oauth_disabled"

    def __init__(self) -> None:
        super().__init__(
            "OAuth is turned off on this MCP Host (MCPHOST_OAUTH__ENABLED=false); connect with an access key or a "
            "personal access token instead."
        )


class RegistrationRateLimited(OAuthError):
    status_code = 429
    code = "temporarily_unavailable"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many client registrations from this address; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
