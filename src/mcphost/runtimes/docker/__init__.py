"""The Docker runtime (``runtime: docker``): servers as hardened containers; see ``runtime``."""

from mcphost.runtimes.docker.runtime import DockerRuntime

__all__ = ["DockerRuntime"]
