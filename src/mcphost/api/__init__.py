"""The HTTP control plane: ``create_app(settings)`` builds the FastAPI application."""

from mcphost.api.app import create_app

__all__ = ["create_app"]
