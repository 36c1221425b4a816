"""The catalog (marketplace): deployable servers described in the official MCP registry ``server.json`` format."""
