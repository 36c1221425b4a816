"""The catalog in the console: search (live, as you type), entry cards, and an entry's page with a deploy form
generated from its inputs (required ones marked, defaults filled in, secrets masked and never shown again,
choices as a list). Deploying itself, and /servers/new, live in ``deploy.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.catalog import service as catalog
from mcphost.catalog.schemas import CatalogEntryOut
from mcphost.ui.forms import form_text
from mcphost.ui.routes import deploy
from mcphost.ui.routes.deploy_forms import ISOLATIONS, FormState, deploy_targets, placement
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
SEARCH_LIMIT = 100


@router.get("/catalog")
async def catalog_page(
    request: Request,
    _principal: ConsoleUser,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    entries = await catalog.search(session, q.strip() or None, limit=SEARCH_LIMIT)
    context = {"entries": entries, "q": q}
    if request.headers.get("hx-target") == "catalog-results":
        response = render(request, "catalog/results.html", context)
    else:
        response = render(request, "catalog/index.html", context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def _default_values(entry: CatalogEntryOut) -> dict[str, str]:
    per_user = any(item.per_user for item in entry.inputs)
    values = {"name": entry.title or entry.name.rsplit("/", 1)[-1], "isolation": "per_user" if per_user else "shared"}
    for item in entry.inputs:
        if item.default is not None and not item.secret:
            values[f"in_{item.name}"] = item.default
    return values


async def _entry_page(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    entry: CatalogEntryOut,
    state: FormState,
    status_code: int = 200,
) -> Response:
    document: dict[str, Any] = entry.document
    context = {
        "entry": entry,
        "packages": document.get("packages") or [],
        "repository": (document.get("repository") or {}).get("url"),
        "orgs": await deploy_targets(session, principal),
        "isolations": ISOLATIONS,
        "form": state,
    }
    return render(request, "catalog/entry.html", context, status_code=status_code)


@router.get("/catalog/{name:path}")
async def entry_page(name: str, request: Request, principal: ConsoleUser, session: SessionDep) -> Response:
    entry = catalog.entry_out(await catalog.get_entry(session, name))
    return await _entry_page(request, session, principal, entry, FormState(values=_default_values(entry)))


@router.post("/catalog/{name:path}")
async def deploy_entry(
    name: str, request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep
) -> Response:
    """Deploy the entry with the inputs typed into its form (a catalog source, as the API takes it)."""
    entry = catalog.entry_out(await catalog.get_entry(session, name))
    form = await request.form()
    state = FormState(values={"name": form_text(form, "name")})
    payload: dict[str, Any] = {
        "name": state.values["name"],
        "source": {"type": "catalog", "name": entry.name, "version": entry.version},
        **placement(form, state),
    }
    env: dict[str, str] = {}
    secret_env: dict[str, str] = {}
    for item in entry.inputs:
        if item.per_user:
            continue  # each user sets their own
        field = f"in_{item.name}"
        raw = form.get(field)
        value = raw.strip() if isinstance(raw, str) else ""
        if not item.secret:
            state.values[field] = value
        if not value:
            if item.required:
                about = f" ({item.description})" if item.description else ""
                state.errors[field] = f"{item.name} is required{about}; enter a value."
            continue
        if item.choices and value not in item.choices:
            state.errors[field] = f"{item.name} must be one of: {', '.join(item.choices)}."
            continue
        (secret_env if item.secret else env)[item.name] = value
    payload |= {"env": env or None, "secret_env": secret_env or None}

    async def again(shown: FormState, status_code: int) -> Response:
        return await _entry_page(request, session, principal, entry, shown, status_code)

    return await deploy.deploy(request, session, platform, principal, payload, state, again)
