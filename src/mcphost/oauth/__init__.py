"""The OAuth 2.1 authorization server of the gateway (the MCP authorization specification): metadata (RFC 8414),
client registration (RFC 7591, and Client ID Metadata Documents), the authorization code flow with PKCE and the
consent page, tokens bound to one server's endpoint (RFC 8707), refresh rotation, and revocation (RFC 7009).

Access and refresh tokens are opaque and stored as keyed hashes, like the platform's other credentials; the gateway
looks them up through ``repository.access_token_grant`` (see ``docs/adr/0011-oauth.md``)."""
