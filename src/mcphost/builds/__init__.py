"""Builds of MCP servers from git repositories: a shallow checkout, a Dockerfile (the repository's own or a generated
one), an image build on the Docker engine and, when a registry is configured, a push with retries and telemetry."""
