"""Managed vector databases: a Chroma server per database, run and supervised by the node that hosts servers, with a
collection API, usage, owner/org scoping and quotas, and publication as a hosted MCP server with a ``search`` tool."""
