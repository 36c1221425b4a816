"""MCP Host: deploy, run, secure and observe Model Context Protocol servers."""

__version__ = "0.1.0"
