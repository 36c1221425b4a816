"""Webhooks of servers: a generic endpoint that redeploys on a shared secret, and a GitHub endpoint that redeploys on
a signed push to the server's branch; every delivery is recorded."""
