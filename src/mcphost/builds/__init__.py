"""Builds of MCP servers from git repositories: a shallow checkout, a Dockerfile (the repository's own or a generated
one), an image build on the Docker engine and, when a registry is configured, a push with retries and telemetry.

The Docker runtime calls ``build_from_git`` from its ``prepare`` for ``git`` sources; docs/builds.md describes the
rules and the telemetry events.
"""

from mcphost.builds.credentials import CredentialSource, RegistryCredentials, credentials_from_settings
from mcphost.builds.pipeline import BuiltImage, build_from_git

__all__ = ["BuiltImage", "CredentialSource", "RegistryCredentials", "build_from_git", "credentials_from_settings"]
