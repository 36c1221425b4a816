"""Tests of the MCP gateway, and the helpers they use to run the official conformance suite through it."""
