"""Public pages: the landing page and the documentation (quick start, connecting clients, the CLI, the API).

Both render for anyone; a signed-in visitor sees their navigation and a way back to their servers. The client
snippets in the docs come from the same function as a server's ``client-config``, so they cannot drift apart.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from mcphost.errors import NotFound
from mcphost.servers.client_config import KEY_PLACEHOLDER, ClientSnippet, client_config
from mcphost.ui.routing import ConsoleRoute, OptionalUser
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

# Slug and title of every docs page, in the order of the side navigation.
DOCS_TOPICS: dict[str, str] = {
    "quick-start": "Quick start",
    "clients": "Connecting clients",
    "cli": "The mcphost CLI",
    "api": "HTTP API",
}
EXAMPLE_SLUG = "my-server"


@router.get("/")
async def landing(request: Request, _principal: OptionalUser) -> Response:
    return render(request, "public/landing.html", {"section": "home"})


@router.get("/docs")
async def docs_index(request: Request, _principal: OptionalUser) -> Response:
    return _docs_page(request, "quick-start")


@router.get("/docs/{topic}")
async def docs_topic(request: Request, topic: str, _principal: OptionalUser) -> Response:
    if topic not in DOCS_TOPICS:
        raise NotFound(f"There is no docs page “{topic[:60]}”. Pick one of: {', '.join(DOCS_TOPICS.values())}.")
    return _docs_page(request, topic)


def _docs_page(request: Request, topic: str) -> Response:
    context: dict[str, Any] = {"section": "docs", "topics": DOCS_TOPICS, "topic": topic, "title": DOCS_TOPICS[topic]}
    if topic == "clients":
        context |= _client_examples(request.app.state.platform.settings.effective_public_url)
    return render(request, f"public/docs/{topic.replace('-', '_')}.html", context)


def _client_examples(public_url: str) -> dict[str, Any]:
    """The configuration each client needs, for an example server, exactly as a server's page shows it."""
    config = client_config(public_url, uuid.UUID(int=0), EXAMPLE_SLUG)
    clients = config.clients

    def text(content: str | dict[str, Any]) -> str:
        return content if isinstance(content, str) else json.dumps(content, indent=2)

    snippets = {}
    for name in type(clients).model_fields:
        snippet: ClientSnippet = getattr(clients, name)
        snippets[name] = {"path": snippet.path, "note": snippet.note, "text": text(snippet.content)}
    return {"endpoint": config.endpoint, "snippets": snippets, "key_placeholder": KEY_PLACEHOLDER}
