"""Custom domains of servers: claim a name, prove control of it (DNS TXT record or HTTP file), and have Caddy serve
``https://{name}/mcp`` with an ACME certificate, proxied to the server's gateway endpoint."""
