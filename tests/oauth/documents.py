"""A web server on loopback serving Client ID Metadata Documents, as VS Code and Claude Code publish theirs: a good
one, and one too large, one too slow, one that redirects, one naming another client_id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse, Response

from tests.support.live import serve

LOOPBACK_REDIRECT = "http://127.0.0.1:33418/callback"


def document(client_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_name": "Visual Studio Code",
        "client_uri": "https://code.visualstudio.com",
        "redirect_uris": [LOOPBACK_REDIRECT, "https://vscode.dev/redirect"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    } | changes


def documents_app(base: list[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/clients/vscode.json")
    async def good() -> JSONResponse:
        return JSONResponse(document(f"{base[0]}/clients/vscode.json"))

    @app.get("/clients/large.json")
    async def large() -> JSONResponse:
        return JSONResponse(document(f"{base[0]}/clients/large.json", padding="x" * 10_000))

    @app.get("/clients/slow.json")
    async def slow() -> JSONResponse:
        await asyncio.sleep(5)
        return JSONResponse(document(f"{base[0]}/clients/slow.json"))

    @app.get("/clients/moved.json")
    async def moved() -> Response:
        return RedirectResponse(f"{base[0]}/clients/vscode.json", status_code=302)

    @app.get("/clients/impostor.json")
    async def impostor() -> JSONResponse:
        return JSONResponse(document(f"{base[0]}/clients/vscode.json"))

    @app.get("/clients/secret.json")
    async def secret() -> JSONResponse:
        return JSONResponse(document(f"{base[0]}/clients/secret.json", client_secret="s3cret"))

    return app


@asynccontextmanager
async def serving_documents() -> AsyncIterator[str]:
    """The documents' base URL (http://127.0.0.1:PORT)."""
    base: list[str] = []
    async with serve(documents_app(base), lifespan=False) as url:
        base.append(url)
        yield url
