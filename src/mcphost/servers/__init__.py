"""Hosted MCP servers: deployments, their configuration, secrets, access keys and lifecycle."""
