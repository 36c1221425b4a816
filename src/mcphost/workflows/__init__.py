"""Workflows: chains of tool calls on hosted servers, run as durable jobs, callable as one MCP tool."""
