"""The application factory: ``create_app(settings)`` builds the HTTP app around a ``Platform``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mcphost import __version__
from mcphost.accounts.router import public_router as auth_router
from mcphost.accounts.router import router as accounts_router
from mcphost.accounts.throttle import FailureThrottle
from mcphost.api import docs, health
from mcphost.api.errors import install_error_handlers
from mcphost.api.middleware import RequestContextMiddleware, RequestLimitsMiddleware
from mcphost.catalog.router import router as catalog_router
from mcphost.credentials.router import router as credentials_router
from mcphost.domains.router import router as domains_router
from mcphost.domains.router import well_known_router as domains_well_known_router
from mcphost.evaluations import wiring as evaluations_wiring
from mcphost.evaluations.router import router as evaluations_router
from mcphost.events.router import router as events_router
from mcphost.files.router import STREAMED_PATHS as FILE_UPLOAD_PATHS
from mcphost.files.router import router as files_router
from mcphost.gateway import McpMount
from mcphost.gateway.app import Gateway
from mcphost.gateway.invoke import router as invoke_router
from mcphost.gateway.metadata_router import router as gateway_metadata_router
from mcphost.ingestion.router import router as ingestion_router
from mcphost.integrations.router import router as integrations_router
from mcphost.jobs.router import router as jobs_router
from mcphost.nodes.router import router as nodes_router
from mcphost.oauth.router import apps_router as oauth_apps_router
from mcphost.oauth.router import router as oauth_router
from mcphost.orgs.router import router as orgs_router
from mcphost.pinning.router import router as pins_router
from mcphost.platform import Platform
from mcphost.revisions.router import router as revisions_router
from mcphost.servers.client_config_router import router as client_config_router
from mcphost.servers.invocations_router import router as invocations_router
from mcphost.servers.observe_router import router as server_observe_router
from mcphost.servers.router import router as servers_router
from mcphost.settings import Settings
from mcphost.ui import install_console
from mcphost.vectors.router import router as vectors_router
from mcphost.webhooks.router import DELIVERY_PATHS, rate_limiter
from mcphost.webhooks.router import router as webhooks_router
from mcphost.workflows.endpoint import WorkflowEndpoint, WorkflowMount
from mcphost.workflows.router import router as workflows_router
from mcphost.workflows.worker import gateway_caller, workflow_worker

STATIC_DIR = Path(__file__).resolve().parent.parent / "ui" / "static"
DESCRIPTION = (
    "Deploy, run, secure and observe Model Context Protocol servers. Authenticate with "
    "`Authorization: Bearer <token>`: a session token from `POST /api/auth/login` or a personal access token."
)


def create_app(settings: Settings | None = None, *, run_services: bool | None = None) -> FastAPI:
    """Build the app. Background services run in it unless ``run_services`` (or the settings) say otherwise."""
    settings = settings or Settings()
    platform = Platform.create(settings)
    services = settings.services.enabled if run_services is None else run_services
    gateway = Gateway(platform)
    if settings.runtime.host:  # workflow runs execute where the servers they call are hosted
        platform.services.add(workflow_worker(platform, gateway_caller(gateway)))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await platform.start(services=services, host_servers=settings.runtime.host)
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()
            await platform.stop()

    app = FastAPI(
        title="MCP Host",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.platform = platform
    app.state.gateway = gateway
    app.state.login_throttle = FailureThrottle.from_settings(settings.auth)
    install_error_handlers(app)
    hooks = settings.webhooks
    app.state.webhook_limiter = rate_limiter(hooks.rate_limit_per_minute, hooks.rate_limit_burst)
    app.add_middleware(
        RequestLimitsMiddleware,
        max_bytes=settings.server.max_body_bytes,
        raw_paths=DELIVERY_PATHS,
        raw_max_bytes=hooks.max_body_bytes,
        streamed_paths=FILE_UPLOAD_PATHS,
    )
    app.add_middleware(RequestContextMiddleware, metrics=platform.metrics, access_log=settings.logging.access_log)
    app.add_middleware(McpMount, gateway=gateway)  # outermost: the MCP endpoint skips the API's middleware
    # Composite tools of workflows (/mcp/workflows/…): one prefix test in front of the gateway, nothing in it.
    app.add_middleware(WorkflowMount, endpoint=WorkflowEndpoint(platform))
    routers = (
        health.router,
        gateway_metadata_router,
        oauth_router,
        oauth_apps_router,
        domains_well_known_router,
        docs.router,
        auth_router,
        accounts_router,
        orgs_router,
        catalog_router,
        server_observe_router,
        invocations_router,
        invoke_router,
        client_config_router,
        # Before servers_router, whose /{server_id}/{action} would take /rollback, /webhook and /github.
        revisions_router,
        webhooks_router,
        pins_router,
        credentials_router,
        files_router,
        integrations_router,
        domains_router,
        servers_router,
        evaluations_router,
        workflows_router,
        jobs_router,
        nodes_router,
        vectors_router,
        ingestion_router,
        events_router,
    )
    for router in routers:
        app.include_router(router)
    evaluations_wiring.install(app, platform, gateway)
    install_console(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
