"""The HTTP control plane: ``create_app(settings)`` builds the FastAPI application."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcphost.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Imported lazily: domain routers import mcphost.api.deps, and the app imports every router.
    if name == "create_app":
        from mcphost.api.app import create_app

        return create_app
    raise AttributeError(name)
