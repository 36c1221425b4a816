"""Helpers shared by the tests: databases, accounts, live servers."""
