"""Rules of the catalog: importing server.json documents, the newest version of each name, what a deployment
of an entry needs, and the built-in entries every instance starts with."""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

import orjson
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.catalog.repository import CatalogRepository
from mcphost.catalog.schemas import CatalogEntryOut, CatalogInput
from mcphost.catalog.server_json import ServerJson
from mcphost.db.locks import advisory_xact_lock
from mcphost.errors import Conflict, NotFound, ValidationFailed
from mcphost.models import CatalogEntry

log = logging.getLogger(__name__)


def parse_server_json(document: Any) -> ServerJson:
    """Validate a server.json document; errors name the path of each bad field."""
    try:
        return ServerJson.model_validate(document)
    except ValidationError as exc:
        details = [{"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
        where = ", ".join(".".join(str(part) for part in d["loc"]) or "(document)" for d in details[:5])
        raise ValidationFailed(
            f"The server.json is invalid at: {where}.", code="invalid_server_json", details=details
        ) from None


def entry_out(entry: CatalogEntry) -> CatalogEntryOut:
    server = ServerJson.model_validate(entry.document)
    per_user = set(server.per_user_inputs())
    inputs: dict[str, CatalogInput] = {}
    for package in server.packages or []:
        for variable in package.environment_variables or []:
            inputs.setdefault(
                variable.name,
                CatalogInput(
                    name=variable.name,
                    description=variable.description,
                    required=variable.is_required
                    and variable.default is None
                    and variable.value is None
                    and variable.name not in per_user,
                    secret=variable.is_secret,
                    default=variable.default,
                    choices=variable.choices,
                    per_user=variable.name in per_user,
                ),
            )
    return CatalogEntryOut(
        id=entry.id,
        name=entry.name,
        version=entry.version,
        title=entry.title,
        description=entry.description,
        builtin=entry.builtin,
        registry_types=sorted({package.registry_type for package in server.packages or []}),
        inputs=list(inputs.values()),
        document=entry.document,
        updated_at=entry.updated_at,
    )


def _newer(candidate: str, than: str) -> bool:
    try:
        return Version(candidate) > Version(than)
    except InvalidVersion:
        return candidate > than


async def import_entry(session: AsyncSession, server: ServerJson, *, builtin: bool = False) -> CatalogEntry:
    """Add a version of an entry; the newest version of a name is the one listed and deployed by default."""
    await advisory_xact_lock(session, f"catalog:{server.name}")
    repository = CatalogRepository(session)
    existing = await repository.versions(server.name)
    if any(entry.version == server.version for entry in existing):
        raise Conflict(
            f"{server.name} {server.version} is already in the catalog; publish a new version instead.",
            code="catalog_version_exists",
        )
    latest = next((entry for entry in existing if entry.is_latest), None)
    is_latest = latest is None or _newer(server.version, latest.version)
    if is_latest and latest is not None:
        latest.is_latest = False
    return await repository.add(
        CatalogEntry(
            name=server.name,
            version=server.version,
            title=server.title,
            description=server.description,
            document=server.document(),
            is_latest=is_latest,
            builtin=builtin,
        )
    )


async def search(session: AsyncSession, query: str | None, *, limit: int) -> list[CatalogEntryOut]:
    return [entry_out(entry) for entry in await CatalogRepository(session).search(query, limit=limit)]


async def get_entry(session: AsyncSession, name: str, version: str | None = None) -> CatalogEntry:
    entry = await CatalogRepository(session).get(name, version)
    if entry is None:
        which = f"{name} {version}" if version else name
        raise NotFound(f"No catalog entry {which}; GET /api/catalog lists what can be deployed.")
    return entry


def builtin_documents() -> list[dict[str, Any]]:
    folder = resources.files("mcphost.catalog").joinpath("builtin")
    return [
        orjson.loads(item.read_bytes())
        for item in sorted(folder.iterdir(), key=lambda item: item.name)
        if item.name.endswith(".json")
    ]


async def install_builtin_entries(session: AsyncSession) -> int:
    """Add the built-in entries this instance does not have yet (new versions arrive with upgrades)."""
    added = 0
    await advisory_xact_lock(session, "catalog:builtin")  # replicas starting together add them once
    repository = CatalogRepository(session)
    for document in builtin_documents():
        server = parse_server_json(document)
        if await repository.get(server.name, server.version) is None:
            await import_entry(session, server, builtin=True)
            added += 1
    if added:
        log.info("added %d built-in catalog entries", added)
    return added
